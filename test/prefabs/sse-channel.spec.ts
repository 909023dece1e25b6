import { describe, expect, it } from '@jest/globals';
import {
  AbstractChannel,
  InvalidConfigurationException,
  InvalidListenerException,
  Message,
  SSEChannel,
  SignedMessage,
  type SSEEvent,
} from '../../src/index.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('SSEChannel', () => {
  it('is an AbstractChannel with the channel defaults and retry 5', () => {
    const channel = new SSEChannel();
    expect(channel).toBeInstanceOf(AbstractChannel);
    expect(channel.id).toMatch(UUID_V4);
    expect(channel.streamDelaySeconds).toBe(0);
    expect(channel.retryTimeoutMilliseconds).toBe(5);
  });

  it('adapts a message to { event, retry, data }', () => {
    const channel = new SSEChannel();
    expect(channel.adapt(new Message('greet', { name: 'Ada' }))).toEqual({
      event: 'greet',
      retry: 5,
      data: { name: 'Ada' },
    });
    expect(channel.adapt(new SignedMessage('bob', 'n', 0))).toEqual({ event: 'n', retry: 5, data: 0 });
  });

  it('adapts a message without payload to undefined data', () => {
    const event = new SSEChannel().adapt(new Message('ping'));
    expect(event.event).toBe('ping');
    expect(event.data).toBeUndefined();
  });

  it('uses the configured retry timeout, including 0', () => {
    expect(new SSEChannel({ retryTimeoutMilliseconds: 3000 }).adapt(new Message('x')).retry).toBe(3000);
    expect(new SSEChannel({ retryTimeoutMilliseconds: 0 }).adapt(new Message('x')).retry).toBe(0);
  });

  it('keeps the channel options', () => {
    const channel = new SSEChannel({ channelId: 'news', streamDelaySeconds: 1.5, retryTimeoutMilliseconds: 10 });
    expect(channel.id).toBe('news');
    expect(channel.streamDelaySeconds).toBe(1.5);
  });

  it('describes itself for repositories, retry timeout included', () => {
    expect(new SSEChannel({ channelId: 'news', streamDelaySeconds: 1, retryTimeoutMilliseconds: 7 }).toData()).toEqual({
      channelId: 'news',
      streamDelaySeconds: 1,
      retryTimeoutMilliseconds: 7,
    });
    expect(new SSEChannel({ channelId: 'd' }).toData()).toEqual({
      channelId: 'd',
      streamDelaySeconds: 0,
      retryTimeoutMilliseconds: 5,
    });
  });

  it.each([
    [{ streamDelaySeconds: -1 }, 'streamDelaySeconds'],
    [{ retryTimeoutMilliseconds: -1 }, 'retryTimeoutMilliseconds'],
    [{ retryTimeoutMilliseconds: Number.POSITIVE_INFINITY }, 'retryTimeoutMilliseconds'],
    [{ channelId: '' }, 'channelId'],
  ])('rejects %p with InvalidConfigurationException naming %s', (options, name) => {
    let error: unknown;
    try {
      new SSEChannel(options);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidConfigurationException);
    expect((error as Error).message).toContain(name);
  });

  it('streams SSE events for a listener', async () => {
    const channel = new SSEChannel({ retryTimeoutMilliseconds: 100 });
    const listener = await channel.addListener();
    listener.start();
    await channel.dispatch(listener.id, new Message('a', 1));
    await channel.broadcast(new Message('b', [true]));
    const stream = channel.messageStream(listener);
    const events: SSEEvent[] = [(await stream.next()).value as SSEEvent, (await stream.next()).value as SSEEvent];
    expect(events).toEqual([
      { event: 'a', retry: 100, data: 1 },
      { event: 'b', retry: 100, data: [true] },
    ]);
    listener.stop();
    expect((await stream.next()).done).toBe(true);
  });

  it('streams one SSE error event for an unknown listener', async () => {
    const events: SSEEvent[] = [];
    for await (const event of new SSEChannel().messageStream('ghost')) events.push(event);
    expect(events).toHaveLength(1);
    expect(events[0].event).toBe('error');
    expect(events[0].retry).toBe(5);
    expect(String(events[0].data)).toContain(InvalidListenerException.name);
  });
});
