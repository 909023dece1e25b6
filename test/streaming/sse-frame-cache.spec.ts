import { describe, expect, it } from '@jest/globals';
import {
  AbstractChannel,
  InvalidMessageFormat,
  Message,
  SSEChannel,
  SseFrameCache,
  UniqueMessage,
  type MessageContract,
} from '../../src/index.js';

class UpperChannel extends AbstractChannel<string> {
  adapt(msg: MessageContract): string {
    return String(msg.payload).toUpperCase();
  }
}

describe('SseFrameCache', () => {
  it('encodes a message once per channel and serves the same encoding after that', () => {
    const frames = new SseFrameCache();
    const channel = new SSEChannel({ retryTimeoutMilliseconds: 1000 });
    const msg = new Message('news', { id: 1 });
    const first = frames.encode(channel, msg);
    expect(first.frame).toBe('event: news\nretry: 1000\ndata: {"id":1}\n\n');
    expect(frames.encode(channel, msg)).toBe(first);
    expect(frames.encode(channel, msg)).toBe(first);
    expect({ hits: frames.hits, misses: frames.misses }).toEqual({ hits: 2, misses: 1 });
    expect(first.bytes).toEqual(Buffer.from(first.frame));
    expect(first.bytes).toBe(first.bytes);
    // Its own memory, not a slice of Node's shared pool: a history keeping the event for minutes must not
    // pin a whole pool slab for it.
    expect(first.bytes.buffer.byteLength).toBe(first.bytes.length);
  });

  it('keeps one encoding per channel, since channel settings shape the frame', () => {
    const frames = new SseFrameCache();
    const fast = new SSEChannel({ retryTimeoutMilliseconds: 10 });
    const slow = new SSEChannel({ retryTimeoutMilliseconds: 9000 });
    const msg = new Message('m', 'x');
    expect(frames.encode(fast, msg).retry).toBe(10);
    expect(frames.encode(slow, msg).retry).toBe(9000);
    expect(frames.encode(fast, msg).retry).toBe(10);
    expect(frames.encode(slow, msg).retry).toBe(9000);
    expect({ hits: frames.hits, misses: frames.misses }).toEqual({ hits: 2, misses: 2 });
  });

  it('encodes a re-sent object again when its type or payload changed', () => {
    const frames = new SseFrameCache();
    const channel = new SSEChannel();
    const msg: { type: string; payload: number } = { type: 'tick', payload: 1 };
    expect(frames.encode(channel, msg).data).toBe('1');
    msg.payload = 2;
    expect(frames.encode(channel, msg).data).toBe('2');
    msg.type = 'tock';
    expect(frames.encode(channel, msg).event).toBe('tock');
    expect(frames.misses).toBe(3);
  });

  it('leaves the id line to each stream (not the message id), and floors a fractional retry', () => {
    const frames = new SseFrameCache();
    const channel = new SSEChannel({ retryTimeoutMilliseconds: 2.5 });
    const encoded = frames.encode(channel, new UniqueMessage(new Message('t', 1), 'sender', 'm-1'));
    expect(encoded).toMatchObject({ event: 't', retry: 2, data: '1' });
    expect(encoded.frame).toBe('event: t\nretry: 2\ndata: 1\n\n');
  });

  it('uses what adapt returns as data for channels that do not adapt to SSE events', () => {
    const frames = new SseFrameCache();
    const encoded = frames.encode(new UpperChannel(), new Message('shout', 'hi'));
    expect(encoded.frame).toBe('event: shout\ndata: HI\n\n');
  });

  it('throws InvalidMessageFormat every time for a message that cannot be encoded; tryEncode gives undefined', () => {
    const frames = new SseFrameCache();
    const channel = new SSEChannel();
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const msg = { type: 'bad', payload: circular as never };
    expect(() => frames.encode(channel, msg)).toThrow(InvalidMessageFormat);
    expect(() => frames.encode(channel, msg)).toThrow(InvalidMessageFormat);
    expect(frames.tryEncode(channel, msg)).toBeUndefined();
    expect(frames.misses).toBe(1);
  });

  it('wraps a failure of adapt as InvalidMessageFormat naming the message type', () => {
    class Failing extends AbstractChannel {
      adapt(): never {
        throw new TypeError('no way');
      }
    }
    const frames = new SseFrameCache();
    expect(() => frames.encode(new Failing(), new Message('odd'))).toThrow(
      new InvalidMessageFormat("Message 'odd' cannot be encoded for SSE: TypeError: no way"),
    );
  });
});
