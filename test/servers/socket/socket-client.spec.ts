import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:net';
import {
  EricSseException,
  InvalidChannelException,
  InvalidConfigurationException,
  InvalidListenerException,
  InvalidMessageFormat,
} from '../../../src/core/errors.js';
import type { MessageQueueListener } from '../../../src/core/listener.js';
import * as publicApi from '../../../src/index.js';
import { SocketClient, SocketServer } from '../../../src/servers/socket/index.js';
import { tempSocketDir, until, UUID } from './support.js';

let dir: Awaited<ReturnType<typeof tempSocketDir>>;
let server: SocketServer;
let client: SocketClient;

beforeEach(async () => {
  dir = await tempSocketDir();
  server = await SocketServer.start(dir.path(), { streamProbeIntervalMs: 20 });
  client = new SocketClient(server.path);
});

afterEach(async () => {
  await server.shutdown();
  await dir.remove();
});

function stopped(listener: MessageQueueListener): Promise<void> {
  return new Promise((resolve) => listener.onStop(resolve));
}

/** A plain node:net server that records the bytes of each command and answers a fixed text. */
async function recordingServer(answer: string): Promise<{ commands: string[]; server: Server; path: string }> {
  const commands: string[] = [];
  const path = dir.path('recording.sock');
  const raw = createServer({ allowHalfOpen: true }, (socket) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => {
      commands.push(Buffer.concat(chunks).toString('utf8'));
      socket.end(answer);
    });
  });
  await new Promise<void>((resolve) => raw.listen(path, resolve));
  return { commands, server: raw, path };
}

function closeServer(raw: Server): Promise<void> {
  return new Promise((resolve) => raw.close(() => resolve()));
}

describe('SocketClient', () => {
  it('is exported from the package entry point', () => {
    expect(publicApi.SocketClient).toBe(SocketClient);
    expect(publicApi.SocketServer).toBe(SocketServer);
    expect(publicApi.SocketCommandHandler).toBeDefined();
  });

  it('creates, registers, broadcasts, dispatches and removes, with the answers of the protocol', async () => {
    const channelId = await client.createChannel();
    expect(channelId).toMatch(UUID);
    const listenerId = await client.register(channelId);
    expect(listenerId).toMatch(UUID);
    expect(await client.broadcastMessage(channelId, 'all', { n: 1 })).toBe('ack');
    expect(await client.dispatch(channelId, listenerId, 'one', 'x')).toBe('ack');
    expect(await client.dispatch(channelId, listenerId, 'bare')).toBe('ack');
    const queued = server.container.get(channelId).getConnection(listenerId).queue;
    expect(await queued.pop()).toEqual({ type: 'all', payload: { n: 1 } });
    expect(await queued.pop()).toEqual({ type: 'one', payload: 'x' });
    expect(await queued.pop()).toEqual({ type: 'bare', payload: null });
    expect(await client.removeListener(channelId, listenerId)).toBe('ack');
    expect(server.container.get(channelId).hasListener(listenerId)).toBe(false);
    expect(await client.removeChannel(channelId)).toBe('ack');
    expect(server.container.getAllIds()).toEqual([]);
    expect(await client.sendPayload({ v: 'c' })).toMatch(UUID);
  });

  it('rejects with the error the server names, leaving the server usable', async () => {
    await expect(client.removeChannel('2')).rejects.toThrow(new InvalidChannelException('No channel with id 2'));
    await expect(client.broadcastMessage('2', 't', 1)).rejects.toBeInstanceOf(InvalidChannelException);
    const channelId = await client.createChannel();
    const removal = client.removeListener(channelId, 'nobody');
    await expect(removal).rejects.toBeInstanceOf(InvalidListenerException);
    await expect(removal).rejects.toMatchObject({ name: 'InvalidListenerException' });
    await expect(client.sendPayload({ v: 'zz' })).rejects.toBeInstanceOf(InvalidMessageFormat);
    await expect(client.sendPayload({ v: 'zz' })).rejects.toBeInstanceOf(EricSseException);
    expect(await client.register(channelId)).toMatch(UUID);
  });

  it('surfaces an error class it does not know as an Error of that name (the Python server may send one)', async () => {
    const raw = await recordingServer("TypeError(\"object async_generator can't be used in 'await' expression\")");
    try {
      const error = await new SocketClient(raw.path).sendPayload({ v: 'w', c: 'x' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(error).toMatchObject({
        name: 'TypeError',
        message: "object async_generator can't be used in 'await' expression",
      });
    } finally {
      await closeServer(raw.server);
    }
  });

  it('writes each command as the Python client does: json.dumps bytes in its key order, then half-close', async () => {
    const raw = await recordingServer('ack');
    try {
      const python = new SocketClient(raw.path);
      await python.createChannel();
      await python.register('ch');
      await python.broadcastMessage('ch', 'greet', { text: 'héllo', n: [1, 2.5] });
      await python.dispatch('ch', 'l1', 'only', 'x');
      await python.removeListener('ch', 'l1');
      await python.removeChannel('ch');
      expect(raw.commands).toEqual([
        '{"v": "c"}',
        '{"v": "r", "c": "ch"}',
        '{"v": "b", "c": "ch", "t": "greet", "p": {"text": "h\\u00e9llo", "n": [1, 2.5]}}',
        '{"v": "d", "c": "ch", "r": "l1", "t": "only", "p": "x"}',
        '{"v": "rl", "c": "ch", "r": "l1"}',
        '{"v": "rc", "c": "ch"}',
      ]);
      const lines = python.stream('ch', 'l1');
      expect(await lines.next()).toEqual({ done: false, value: 'ack' }); // the raw server's answer, no line break
      expect(await lines.next()).toEqual({ done: true, value: undefined });
      expect(raw.commands[6]).toBe('{"c": "ch", "r": "l1", "v": "l"}');
    } finally {
      await closeServer(raw.server);
    }
  });

  it('streams one JSON line per event; leaving the loop stops the listener on the server', async () => {
    const channelId = await client.createChannel();
    const listenerId = await client.register(channelId);
    await client.broadcastMessage(channelId, 'first', 1);
    await client.broadcastMessage(channelId, 'second', { ok: true });
    const listener = server.container.get(channelId).getListener(listenerId);
    const listenerStopped = stopped(listener);
    const received: unknown[] = [];
    for await (const line of client.stream(channelId, listenerId)) {
      received.push(JSON.parse(line));
      if (received.length === 2) break;
    }
    expect(received).toEqual([
      { event: 'first', retry: 5, data: 1 },
      { event: 'second', retry: 5, data: { ok: true } },
    ]);
    await listenerStopped;
    expect(listener.isRunning()).toBe(false);
  });

  it('ends a stream when the server ends it', async () => {
    const channelId = await client.createChannel();
    const listenerId = await client.register(channelId);
    await client.dispatch(channelId, listenerId, 'only', null);
    const lines = client.stream(channelId, listenerId);
    expect(await lines.next()).toEqual({ done: false, value: '{"event": "only", "retry": 5, "data": null}' });
    await client.removeListener(channelId, listenerId);
    expect(await lines.next()).toEqual({ done: true, value: undefined });
  });

  it('throws the named error from a stream the server refuses', async () => {
    const channelId = await client.createChannel();
    const lines = client.stream(channelId, 'nobody');
    await expect(lines.next()).rejects.toBeInstanceOf(InvalidListenerException);
    await expect(client.watch('2').next()).rejects.toThrow(new InvalidChannelException('No channel with id 2'));
  });

  it('watch() streams on a listener of its own, removed when the loop is left', async () => {
    const channelId = await client.createChannel();
    const channel = server.container.get(channelId);
    const lines = client.watch(channelId);
    const first = lines.next();
    await until(() => channel.getConnections().length === 1, 'the watch listener');
    await client.broadcastMessage(channelId, 'tick', 7);
    expect(await first).toEqual({ done: false, value: '{"event": "tick", "retry": 5, "data": 7}' });
    const listenerStopped = stopped(channel.getConnections()[0]!.listener);
    await lines.return();
    await listenerStopped;
    expect(channel.getConnections()).toEqual([]);
  });

  it('rejects with the connection error when nothing listens on the path', async () => {
    const nowhere = new SocketClient(dir.path('nowhere.sock'));
    await expect(nowhere.createChannel()).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(nowhere.stream('c', 'l').next()).rejects.toMatchObject({ code: 'ENOENT' });
    expect(() => new SocketClient('')).toThrow(InvalidConfigurationException);
  });

  it('gets the refusal of an oversized command', async () => {
    const small = await SocketServer.start(dir.path('small.sock'), { maxCommandBytes: 64 });
    try {
      const big = new SocketClient(small.path).broadcastMessage('c', 't', 'x'.repeat(100_000));
      await expect(big).rejects.toThrow(new InvalidMessageFormat('Command exceeds 64 bytes'));
    } finally {
      await small.shutdown();
    }
  });
});
