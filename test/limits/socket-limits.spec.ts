import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  ChannelContainer,
  InMemoryConnectionsFactory,
  InMemoryQueue,
  MessageTooLargeException,
  QueueFullException,
  SocketClient,
  SocketServer,
  SSEChannel,
  TooManyChannelsException,
  TooManyListenersException,
} from '../../src/index.js';
import { exchangeRaw, tempSocketDir, UUID } from '../servers/socket/support.js';
import { types } from './support.js';

describe('socket answers to limits', () => {
  let dir: Awaited<ReturnType<typeof tempSocketDir>>;
  let server: SocketServer;
  let path: string;

  beforeEach(async () => {
    dir = await tempSocketDir();
    path = dir.path();
    server = await SocketServer.start(path, {
      container: new ChannelContainer(undefined, { maxChannels: 1 }),
      createChannel: () =>
        new SSEChannel({
          connectionsFactory: new InMemoryConnectionsFactory({ maxSize: 1, overflow: 'reject' }),
          maxListeners: 1,
          maxPayloadBytes: 8,
        }),
    });
  });

  afterEach(async () => {
    await server.shutdown();
    await dir.remove();
  });

  it('answers each refusal as ClassName(message) and changes nothing', async () => {
    const channel = await exchangeRaw(path, '{"v":"c"}');
    expect(channel).toMatch(UUID);
    expect(await exchangeRaw(path, '{"v":"c"}')).toBe(
      "TooManyChannelsException('Cannot add a channel: maxChannels (1) reached')",
    );
    expect(server.container.getAllIds()).toEqual([channel]);

    const listener = await exchangeRaw(path, JSON.stringify({ v: 'r', c: channel }));
    expect(listener).toMatch(UUID);
    expect(await exchangeRaw(path, JSON.stringify({ v: 'r', c: channel }))).toBe(
      `TooManyListenersException('Cannot add a listener to channel ${channel}: maxListeners (1) reached')`,
    );
    expect(await exchangeRaw(path, JSON.stringify({ v: 'w', c: channel }))).toMatch(/^TooManyListenersException\('/);
    expect(await server.container.get(channel).listListenerIds()).toEqual([listener]);

    expect(await exchangeRaw(path, JSON.stringify({ v: 'b', c: channel, t: 'big', p: 'much too long' }))).toBe(
      `MessageTooLargeException("The payload of message 'big' is 15 bytes as JSON, over maxPayloadBytes (8) of channel ${channel}")`,
    );
    expect(await exchangeRaw(path, JSON.stringify({ v: 'd', c: channel, r: listener, t: 'first', p: 'ok' }))).toBe(
      'ack',
    );
    expect(await exchangeRaw(path, JSON.stringify({ v: 'd', c: channel, r: listener, t: 'second' }))).toBe(
      `QueueFullException("The queue of listener ${listener} is full in channel ${channel} (overflow 'reject'): nothing was queued")`,
    );
    expect(await exchangeRaw(path, JSON.stringify({ v: 'b', c: channel, t: 'all' }))).toMatch(/^QueueFullException\("/);
    const queue = server.container.get(channel).getConnection(listener).queue as InMemoryQueue;
    expect(types(queue.peekAll())).toEqual(['first']);
  });

  it('SocketClient rejects with the library class of each limit error', async () => {
    const client = new SocketClient(path);
    const channel = await client.createChannel();
    await expect(client.createChannel()).rejects.toBeInstanceOf(TooManyChannelsException);
    const listener = await client.register(channel);
    await expect(client.register(channel)).rejects.toBeInstanceOf(TooManyListenersException);
    await expect(client.broadcastMessage(channel, 'big', 'much too long')).rejects.toBeInstanceOf(
      MessageTooLargeException,
    );
    await client.dispatch(channel, listener, 'first');
    await expect(client.dispatch(channel, listener, 'second')).rejects.toBeInstanceOf(QueueFullException);
    // Streaming the listener empties its queue: the next message is accepted.
    const lines = client.stream(channel, listener);
    expect(JSON.parse((await lines.next()).value as string)).toMatchObject({ event: 'first' });
    await client.dispatch(channel, listener, 'second');
    expect(JSON.parse((await lines.next()).value as string)).toMatchObject({ event: 'second' });
    await lines.return(undefined);
  });
});
