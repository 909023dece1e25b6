import { describe, expect, it } from '@jest/globals';
import { InvalidChannelException, InvalidMessageFormat } from '../../../src/core/errors.js';
import { SSEChannel } from '../../../src/prefabs/sse-channel.js';
import { ChannelContainer } from '../../../src/servers/channel-container.js';
import { ListenerLineStream, SocketCommandHandler } from '../../../src/servers/socket/index.js';

/** The handler without any socket, as a transport (e.g. the Nest one) drives it. */
describe('SocketCommandHandler', () => {
  function setup(): { handler: SocketCommandHandler; channel: SSEChannel } {
    const container = new ChannelContainer();
    const channel = new SSEChannel({ channelId: 'ch' });
    container.register(channel);
    return { handler: new SocketCommandHandler(container), channel };
  }

  it('answers single-answer verbs with strings', async () => {
    const { handler, channel } = setup();
    const listenerId = await handler.handle({ v: 'r', c: 'ch' });
    expect(channel.hasListener(listenerId as string)).toBe(true);
    expect(await handler.handle({ v: 'b', c: 'ch', t: 'x', p: 1 })).toBe('ack');
    expect(await handler.handleRaw('{"v": "d", "c": "ch", "r": "' + String(listenerId) + '", "t": "y"}')).toBe('ack');
    expect(await handler.handleRaw(Buffer.from('{"v": "rc", "c": "ch"}'))).toBe('ack');
    expect(handler.container.getAllIds()).toEqual([]);
  });

  it('throws the named errors for the transport to answer', async () => {
    const { handler } = setup();
    await expect(handler.handleRaw('{')).rejects.toBeInstanceOf(InvalidMessageFormat);
    await expect(handler.handle({})).rejects.toThrow(new InvalidMessageFormat("Missing verb 'v'"));
    await expect(handler.handle({ v: 'b', c: 'nope', t: 'x' })).rejects.toBeInstanceOf(InvalidChannelException);
    // A missing field is reported before the channel is looked up, as the original parses first.
    await expect(handler.handle({ v: 'b', c: 'nope' })).rejects.toBeInstanceOf(InvalidMessageFormat);
  });

  it('answers l with a line stream that stops the listener when iteration is left', async () => {
    const { handler, channel } = setup();
    const listener = await channel.addListener();
    await channel.dispatch(listener.id, { type: 'one', payload: 'é' });
    const stream = await handler.handle({ v: 'l', c: 'ch', r: listener.id });
    expect(stream).toBeInstanceOf(ListenerLineStream);
    expect(listener.isRunning()).toBe(true);
    for await (const line of stream as AsyncIterable<string>) {
      expect(line).toBe('{"event": "one", "retry": 5, "data": "\\u00e9"}\n');
      break;
    }
    expect(listener.isRunning()).toBe(false);
    expect(channel.hasListener(listener.id)).toBe(true);
  });

  it('answers w with a line stream whose close() removes its listener, ending a pending read at once', async () => {
    const { handler, channel } = setup();
    const stream = (await handler.handle({ v: 'w', c: 'ch' })) as ListenerLineStream;
    expect(channel.getConnections().map((c) => c.listener)).toEqual([stream.listener]);
    const pending = stream[Symbol.asyncIterator]().next();
    await stream.close();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(channel.getConnections()).toEqual([]);
    await stream.close(); // idempotent
  });
});
