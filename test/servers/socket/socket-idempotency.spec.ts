import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  EricSocketClientProxy,
  InMemoryConnectionsFactory,
  InMemoryQueue,
  InvalidMessageFormat,
  MessageTooLargeException,
  QueueFullException,
  SSEChannel,
  type MessageContract,
} from '../../../src/index.js';
import { SocketClient, SocketServer } from '../../../src/servers/socket/index.js';
import { exchangeRaw, tempSocketDir } from './support.js';

let dir: Awaited<ReturnType<typeof tempSocketDir>>;
let server: SocketServer;
let client: SocketClient;

beforeEach(async () => {
  dir = await tempSocketDir();
  server = await SocketServer.start(dir.path());
  client = new SocketClient(server.path);
});

afterEach(async () => {
  await server.shutdown();
  await dir.remove();
});

function queued(channelId: string, listenerId: string): MessageContract[] {
  return (server.container.get(channelId).getConnection(listenerId).queue as InMemoryQueue).peekAll();
}

async function channelWithListener(): Promise<{ channelId: string; listenerId: string }> {
  const channelId = await client.createChannel();
  return { channelId, listenerId: await client.register(channelId) };
}

describe('socket protocol: idempotency key k', () => {
  it('SocketClient sends idempotencyKey as k: a retried dispatch or broadcast is answered ack and queued once', async () => {
    const { channelId, listenerId } = await channelWithListener();
    for (let i = 0; i < 2; i++) {
      expect(await client.dispatch(channelId, listenerId, 'one', 1, { idempotencyKey: 'd-1' })).toBe('ack');
      expect(await client.broadcastMessage(channelId, 'all', 2, { idempotencyKey: 'b-1' })).toBe('ack');
    }
    expect(await client.broadcastMessage(channelId, 'all', 2, { idempotencyKey: 'b-2' })).toBe('ack');
    expect(queued(channelId, listenerId)).toEqual([
      { type: 'one', payload: 1 },
      { type: 'all', payload: 2 },
      { type: 'all', payload: 2 },
    ]);
  });

  it("EricSocketClientProxy's eric verbs take the same option", async () => {
    const { channelId, listenerId } = await channelWithListener();
    const proxy = new EricSocketClientProxy({ path: server.path });
    for (let i = 0; i < 2; i++) {
      expect(await proxy.eric.broadcastMessage(channelId, 'all', null, { idempotencyKey: 'b' })).toBe('ack');
      expect(await proxy.eric.dispatch(channelId, listenerId, 'one', null, { idempotencyKey: 'd' })).toBe('ack');
    }
    expect(queued(channelId, listenerId).map((msg) => msg.type)).toEqual(['all', 'one']);
  });

  it('takes k on raw commands, and a command without k (as Python clients send) publishes every time', async () => {
    const { channelId, listenerId } = await channelWithListener();
    const keyed = `{"c": "${channelId}", "v": "b", "t": "x", "p": null, "k": "key-1"}`;
    const plain = `{"c": "${channelId}", "v": "b", "t": "y", "p": null}`;
    const nullKey = `{"c": "${channelId}", "v": "b", "t": "z", "p": null, "k": null}`;
    for (const command of [keyed, keyed, plain, plain, nullKey, nullKey]) {
      expect(await exchangeRaw(server.path, command)).toBe('ack');
    }
    expect(queued(channelId, listenerId).map((msg) => msg.type)).toEqual(['x', 'y', 'y', 'z', 'z']);
  });

  it.each<[string, string, string]>([
    ['a number', '42', `InvalidMessageFormat("'k' (idempotency key) must be a string, got a number")`],
    ['an object', '{"a": 1}', `InvalidMessageFormat("'k' (idempotency key) must be a string, got an object")`],
    ['an empty string', '""', `InvalidMessageFormat('An idempotency key must not be empty')`],
    ['a line break', '"a\\nb"', "InvalidMessageFormat('An idempotency key must not hold control characters"],
    ['300 bytes', `"${'k'.repeat(300)}"`, `InvalidMessageFormat('An idempotency key must be at most 256 bytes`],
  ])('answers a k that is %s with InvalidMessageFormat, queueing nothing', async (_case, k, answer) => {
    const { channelId, listenerId } = await channelWithListener();
    for (const command of [
      `{"c": "${channelId}", "v": "b", "t": "x", "p": null, "k": ${k}}`,
      `{"c": "${channelId}", "v": "d", "r": "${listenerId}", "t": "x", "p": null, "k": ${k}}`,
    ]) {
      const reply = await exchangeRaw(server.path, command);
      expect(reply.startsWith(answer)).toBe(true);
      expect(reply.length).toBeLessThan(200);
    }
    expect(queued(channelId, listenerId)).toEqual([]);
  });

  it('rejects a bad idempotencyKey given to SocketClient with InvalidMessageFormat', async () => {
    const { channelId, listenerId } = await channelWithListener();
    await expect(client.dispatch(channelId, listenerId, 'x', null, { idempotencyKey: '' })).rejects.toThrow(
      InvalidMessageFormat,
    );
    await expect(client.broadcastMessage(channelId, 'x', null, { idempotencyKey: 'a\u0007' })).rejects.toThrow(
      InvalidMessageFormat,
    );
    expect(queued(channelId, listenerId)).toEqual([]);
  });

  it('does not record the key of a command refused for a full queue or a payload too large', async () => {
    await server.container.add(
      new SSEChannel({
        channelId: 'bounded',
        maxPayloadBytes: 10,
        connectionsFactory: new InMemoryConnectionsFactory({ maxSize: 1, overflow: 'reject' }),
      }),
    );
    const listenerId = await client.register('bounded');
    await expect(client.broadcastMessage('bounded', 'big', 'x'.repeat(20), { idempotencyKey: 'k' })).rejects.toThrow(
      MessageTooLargeException,
    );
    expect(await client.broadcastMessage('bounded', 'small', null, { idempotencyKey: 'k' })).toBe('ack');
    await expect(client.dispatch('bounded', listenerId, 'more', null, { idempotencyKey: 'd' })).rejects.toThrow(
      QueueFullException,
    );
    await server.container.get('bounded').getConnection(listenerId).queue.pop();
    expect(await client.dispatch('bounded', listenerId, 'more', null, { idempotencyKey: 'd' })).toBe('ack');
    expect(queued('bounded', listenerId)).toEqual([{ type: 'more', payload: null }]);
  });
});
