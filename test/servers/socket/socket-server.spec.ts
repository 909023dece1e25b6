import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { link, lstat, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AbstractChannel } from '../../../src/core/channel.js';
import { InvalidConfigurationException } from '../../../src/core/errors.js';
import type { MessageQueueListener } from '../../../src/core/listener.js';
import { setEricLogger } from '../../../src/core/logger.js';
import type { InMemoryQueue } from '../../../src/core/queue.js';
import { SSEChannel } from '../../../src/prefabs/sse-channel.js';
import { ChannelContainer } from '../../../src/servers/channel-container.js';
import { SocketPathInUseException, SocketServer, type SocketServerOptions } from '../../../src/servers/socket/index.js';
import {
  closeSocket,
  connect,
  exchangeRaw,
  LineReader,
  liveHandles,
  openStream,
  readAll,
  tempSocketDir,
  until,
  UUID,
} from './support.js';

let dir: Awaited<ReturnType<typeof tempSocketDir>>;
let servers: SocketServer[];
let handlesBefore: Record<string, number>;

beforeEach(async () => {
  handlesBefore = liveHandles();
  dir = await tempSocketDir();
  servers = [];
});

afterEach(async () => {
  for (const server of servers) await server.shutdown();
  await dir.remove();
});

async function startServer(options: SocketServerOptions = {}, path = dir.path()): Promise<SocketServer> {
  const server = await SocketServer.start(path, { idleTimeoutMs: 2000, streamProbeIntervalMs: 20, ...options });
  servers.push(server);
  return server;
}

function queuedFor(server: SocketServer, channelId: string, listenerId: string): number {
  return (server.container.get(channelId).getConnection(listenerId).queue as InMemoryQueue).peekAll().length;
}

function stopped(listener: MessageQueueListener): Promise<void> {
  return new Promise((resolve) => listener.onStop(resolve));
}

/** A channel with one listener, made through the socket. */
async function channelWithListener(server: SocketServer): Promise<{ channelId: string; listenerId: string }> {
  const channelId = await exchangeRaw(server.path, '{"v": "c"}');
  const listenerId = await exchangeRaw(server.path, `{"v": "r", "c": "${channelId}"}`);
  return { channelId, listenerId };
}

describe('SocketServer verbs (bytes as the Python SocketClient writes them)', () => {
  it('c creates an SSEChannel and answers its 36-char id', async () => {
    const server = await startServer();
    const answer = await exchangeRaw(server.path, '{"v": "c"}');
    expect(answer).toMatch(UUID);
    expect(answer).toHaveLength(36);
    expect(server.container.get(answer)).toBeInstanceOf(SSEChannel);
  });

  it('r adds a listener that is not started and answers its id', async () => {
    const server = await startServer();
    const { channelId, listenerId } = await channelWithListener(server);
    expect(listenerId).toMatch(UUID);
    const listener = server.container.get(channelId).getListener(listenerId);
    expect(listener.isRunning()).toBe(false);
  });

  it('b queues for every listener, d for one; both answer ack; l streams them as Python JSON lines', async () => {
    const server = await startServer();
    const { channelId, listenerId } = await channelWithListener(server);
    const other = await exchangeRaw(server.path, `{"v": "r", "c": "${channelId}"}`);
    expect(
      await exchangeRaw(server.path, `{"v": "b", "c": "${channelId}", "t": "greet", "p": {"text": "h\\u00e9llo"}}`),
    ).toBe('ack');
    expect(
      await exchangeRaw(server.path, `{"v": "d", "c": "${channelId}", "r": "${other}", "t": "only", "p": [1, 2.5]}`),
    ).toBe('ack');
    expect(await exchangeRaw(server.path, `{"v": "b", "c": "${channelId}", "t": "bare"}`)).toBe('ack');

    const first = await openStream(server.path, `{"c": "${channelId}", "r": "${listenerId}", "v": "l"}`);
    expect(await first.next()).toBe('{"event": "greet", "retry": 5, "data": {"text": "h\\u00e9llo"}}\n');
    expect(await first.next()).toBe('{"event": "bare", "retry": 5, "data": null}\n');
    expect(server.container.get(channelId).getListener(listenerId).isRunning()).toBe(true);

    const second = await openStream(server.path, `{"c": "${channelId}", "r": "${other}", "v": "l"}`);
    expect(await second.next()).toBe('{"event": "greet", "retry": 5, "data": {"text": "h\\u00e9llo"}}\n');
    expect(await second.next()).toBe('{"event": "only", "retry": 5, "data": [1, 2.5]}\n');
    expect(await second.next()).toBe('{"event": "bare", "retry": 5, "data": null}\n');

    // rl from another connection stops the listener: the server ends that stream and nothing else.
    expect(await exchangeRaw(server.path, `{"v": "rl", "c": "${channelId}", "r": "${listenerId}"}`)).toBe('ack');
    expect(await first.next()).toBeUndefined();
    expect(first.rest()).toBe('');
    expect(server.container.get(channelId).hasListener(listenerId)).toBe(false);
    expect(await exchangeRaw(server.path, `{"v": "b", "c": "${channelId}", "t": "later"}`)).toBe('ack');
    expect(await second.next()).toBe('{"event": "later", "retry": 5, "data": null}\n');
    await closeSocket(second.socket);
  });

  it('rc removes the channel and answers ack', async () => {
    const server = await startServer();
    const channelId = await exchangeRaw(server.path, '{"v": "c"}');
    expect(await exchangeRaw(server.path, `{"v": "rc", "c": "${channelId}"}`)).toBe('ack');
    expect(server.container.getAllIds()).toEqual([]);
  });

  it('w adds and starts a listener of its own, streams, and removes it when the client leaves', async () => {
    const server = await startServer();
    const channelId = await exchangeRaw(server.path, '{"v": "c"}');
    const channel = server.container.get(channelId);
    const watcher = await openStream(server.path, `{"v": "w", "c": "${channelId}"}`);
    await waitForListeners(channel, 1);
    const [connection] = channel.getConnections();
    expect(connection?.listener.isRunning()).toBe(true);
    expect(await exchangeRaw(server.path, `{"v": "b", "c": "${channelId}", "t": "tick", "p": 1}`)).toBe('ack');
    expect(await watcher.next()).toBe('{"event": "tick", "retry": 5, "data": 1}\n');

    const listenerStopped = stopped(connection!.listener);
    await closeSocket(watcher.socket);
    await listenerStopped;
    expect(channel.getConnections()).toEqual([]);
  });

  it('a command with p but no t for l/w/r/rl/rc still works: t is only needed for d and b', async () => {
    const server = await startServer();
    const channelId = await exchangeRaw(server.path, '{"v": "c", "p": "ignored"}');
    expect(channelId).toMatch(UUID);
    expect(await exchangeRaw(server.path, `{"v": "r", "c": "${channelId}", "t": "x"}`)).toMatch(UUID);
  });
});

function waitForListeners(channel: AbstractChannel, count: number): Promise<void> {
  return until(() => channel.getConnections().length >= count, `${count} listener(s) on the channel`);
}

describe('SocketServer bad input: answered, closed, server unaffected', () => {
  const cases: [string, string | Buffer, string | RegExp][] = [
    ['malformed JSON', '{"v": ', /^InvalidMessageFormat\('Malformed JSON: .+'\)$/],
    ['an empty command', '', /^InvalidMessageFormat\('Malformed JSON: .+'\)$/],
    ['bytes that are not UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), "InvalidMessageFormat('Command is not valid UTF-8')"],
    ['a JSON array', '[{"v": "c"}]', "InvalidMessageFormat('Command must be a JSON object, got an array')"],
    ['a JSON string', '"c"', "InvalidMessageFormat('Command must be a JSON object, got a string')"],
    ['JSON null', 'null', "InvalidMessageFormat('Command must be a JSON object, got null')"],
    ['a JSON number', '5', "InvalidMessageFormat('Command must be a JSON object, got a number')"],
    ['no verb', '{"c": "x"}', 'InvalidMessageFormat("Missing verb \'v\'")'],
    ['an unknown verb', '{"v": "zz"}', 'InvalidMessageFormat(\'Unknown verb "zz"\')'],
    ['a verb that is not a string', '{"v": 1}', "InvalidMessageFormat('Unknown verb 1')"],
    [
      'd without t',
      '{"v": "d", "c": "x", "r": "y"}',
      "InvalidMessageFormat(\"Missing 't' (message type) for verb 'd'\")",
    ],
    ['b without t', '{"v": "b", "c": "x"}', "InvalidMessageFormat(\"Missing 't' (message type) for verb 'b'\")"],
    [
      'b with a t that is not a string',
      '{"v": "b", "c": "x", "t": 5}',
      /^InvalidMessageFormat\(.*'t'.*must be a string, got 5.*\)$/,
    ],
    ['r without c', '{"v": "r"}', "InvalidMessageFormat(\"Missing 'c' (channel id) for verb 'r'\")"],
    ['b without c', '{"v": "b", "t": "x"}', "InvalidMessageFormat(\"Missing 'c' (channel id) for verb 'b'\")"],
    ['rc without c', '{"v": "rc"}', "InvalidMessageFormat(\"Missing 'c' (channel id) for verb 'rc'\")"],
    ['w without c', '{"v": "w"}', "InvalidMessageFormat(\"Missing 'c' (channel id) for verb 'w'\")"],
    ['c that is not a string', '{"v": "r", "c": 2}', /^InvalidMessageFormat\(.*'c'.*must be a string, got 2.*\)$/],
    ['d without r', '{"v": "d", "c": "x", "t": "y"}', /^InvalidMessageFormat\(.*Missing 'r'.*verb 'd'.*\)$/],
    ['rl without r', '{"v": "rl", "c": "x"}', /^InvalidMessageFormat\(.*Missing 'r'.*verb 'rl'.*\)$/],
    ['l without r', '{"v": "l", "c": "x"}', /^InvalidMessageFormat\(.*Missing 'r'.*verb 'l'.*\)$/],
    ['an unknown channel', '{"v": "b", "c": "2", "t": "x"}', "InvalidChannelException('No channel with id 2')"],
    ['rc of an unknown channel', '{"v": "rc", "c": "2"}', "InvalidChannelException('No channel with id 2')"],
    ['l on an unknown channel', '{"v": "l", "c": "2", "r": "y"}', "InvalidChannelException('No channel with id 2')"],
    ['w on an unknown channel', '{"v": "w", "c": "2"}', "InvalidChannelException('No channel with id 2')"],
  ];

  it.each(cases)('%s', async (_what, command, expected) => {
    const server = await startServer();
    const existing = await exchangeRaw(server.path, '{"v": "c"}');
    const answer = await exchangeRaw(server.path, command);
    if (typeof expected === 'string') expect(answer).toBe(expected);
    else expect(answer).toMatch(expected);
    expect(server.container.getAllIds()).toEqual([existing]);
    expect(await exchangeRaw(server.path, '{"v": "c"}')).toMatch(UUID);
    expect(server.container.getAllIds()).toHaveLength(2);
  });

  it.each([
    ['d', (c: string) => `{"v": "d", "c": "${c}", "r": "nobody", "t": "x"}`],
    ['rl', (c: string) => `{"v": "rl", "c": "${c}", "r": "nobody"}`],
    ['l', (c: string) => `{"v": "l", "c": "${c}", "r": "nobody"}`],
  ])('an unknown listener for %s is InvalidListenerException', async (_verb, command) => {
    const server = await startServer();
    const { channelId, listenerId } = await channelWithListener(server);
    const answer = await exchangeRaw(server.path, command(channelId));
    expect(answer).toBe(`InvalidListenerException('No listener with id nobody in channel ${channelId}')`);
    expect(
      server.container
        .get(channelId)
        .getConnections()
        .map((c) => c.listener.id),
    ).toEqual([listenerId]);
    expect(await exchangeRaw(server.path, `{"v": "b", "c": "${channelId}", "t": "ok"}`)).toBe('ack');
  });

  it('refuses a command over the size limit as soon as it passes it, without waiting for the rest', async () => {
    const server = await startServer({ maxCommandBytes: 1024 });
    const socket = await connect(server.path);
    const answer = readAll(socket);
    socket.write(`{"v": "b", "p": "${'x'.repeat(2000)}`); // never half-closed: the answer cannot wait for the end
    expect(await answer).toBe("InvalidMessageFormat('Command exceeds 1024 bytes')");
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.end('"}');
    await closed;
    expect(await exchangeRaw(server.path, '{"v": "c"}')).toMatch(UUID);
  });

  it('takes a command of exactly the size limit, and a huge one sent in full gets the refusal', async () => {
    const server = await startServer({ maxCommandBytes: 1024 });
    const exact = `{"v": "c"}`.padEnd(1024, ' ');
    expect(await exchangeRaw(server.path, exact)).toMatch(UUID);
    const huge = `{"v": "c", "p": "${'y'.repeat(4 * 1024 * 1024)}"}`;
    expect(await exchangeRaw(server.path, huge)).toBe("InvalidMessageFormat('Command exceeds 1024 bytes')");
    expect(await exchangeRaw(server.path, exact)).toMatch(UUID);
  });

  it('answers and closes a client that never half-closes, after the idle timeout', async () => {
    const server = await startServer({ idleTimeoutMs: 50 });
    const silent = await connect(server.path);
    const partial = await connect(server.path);
    const silentAnswer = readAll(silent);
    const partialAnswer = readAll(partial);
    const partialClosed = new Promise((resolve) => partial.once('close', resolve));
    partial.write('{"v": ');
    expect(await silentAnswer).toBe("InvalidMessageFormat('No complete command within 50 ms')");
    expect(await partialAnswer).toBe("InvalidMessageFormat('No complete command within 50 ms')");
    await partialClosed; // closed by the server, though this client never ended its side
    await closeSocket(silent);
    expect(await exchangeRaw(server.path, '{"v": "c"}')).toMatch(UUID);
  });
});

describe('SocketServer streams and leaving clients', () => {
  it('a client leaving an l stream stops its listener (it stays registered), even with no event flowing', async () => {
    const server = await startServer();
    const { channelId, listenerId } = await channelWithListener(server);
    const listener = server.container.get(channelId).getListener(listenerId);
    const reader = await openStream(server.path, `{"v": "l", "c": "${channelId}", "r": "${listenerId}"}`);
    await exchangeRaw(server.path, `{"v": "b", "c": "${channelId}", "t": "one"}`);
    expect(await reader.next()).toBe('{"event": "one", "retry": 5, "data": null}\n');
    const listenerStopped = stopped(listener);
    await closeSocket(reader.socket);
    await listenerStopped;
    expect(server.container.get(channelId).hasListener(listenerId)).toBe(true);
    expect(listener.isRunning()).toBe(false);
  });

  it('a client leaving before the first event of a w stream removes its listener', async () => {
    const server = await startServer();
    const channelId = await exchangeRaw(server.path, '{"v": "c"}');
    const channel = server.container.get(channelId);
    const reader = await openStream(server.path, `{"v": "w", "c": "${channelId}"}`);
    await waitForListeners(channel, 1);
    const listenerStopped = stopped(channel.getConnections()[0]!.listener);
    await closeSocket(reader.socket);
    await listenerStopped;
    expect(channel.getConnections()).toEqual([]);
  });

  it('streams with backpressure: a slow reader gets every line, in order', async () => {
    const server = await startServer();
    const { channelId, listenerId } = await channelWithListener(server);
    const count = 400;
    const filler = 'z'.repeat(4096);
    for (let i = 0; i < count; i++) {
      await server.container.get(channelId).dispatch(listenerId, { type: 'bulk', payload: { i, filler } });
    }
    const socket = await connect(server.path);
    socket.pause();
    socket.end(`{"v": "l", "c": "${channelId}", "r": "${listenerId}"}`);
    // 1.6 MB cannot fit the socket buffers: the server must wait for this side, which has not read yet.
    await until(() => queuedFor(server, channelId, listenerId) < count - 10, 'the stream to start');
    const lines = new LineReader(socket);
    socket.resume();
    for (let i = 0; i < count; i++) {
      expect(JSON.parse((await lines.next())!)).toEqual({ event: 'bulk', retry: 5, data: { i, filler } });
    }
    await closeSocket(socket);
  });

  it('answers 200 concurrent commands', async () => {
    const server = await startServer();
    const { channelId, listenerId } = await channelWithListener(server);
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        exchangeRaw(server.path, `{"v": "b", "c": "${channelId}", "t": "n", "p": ${i}}`),
      ),
    );
    expect(answers).toEqual(Array(200).fill('ack'));
    const reader = await openStream(server.path, `{"v": "l", "c": "${channelId}", "r": "${listenerId}"}`);
    const received = new Set<number>();
    for (let i = 0; i < 200; i++) received.add(JSON.parse((await reader.next())!).data);
    expect(received.size).toBe(200);
    await closeSocket(reader.socket);
  });

  it('ends a stream whose iteration fails with the error text, and logs the failure', async () => {
    const logged: unknown[] = [];
    setEricLogger({ debug: () => {}, error: (_message, error) => logged.push(error) });
    try {
      const server = await startServer({
        fallback: () =>
          (async function* () {
            yield 'first\n';
            throw new InvalidConfigurationException('broken stream');
          })(),
      });
      const reader = await openStream(server.path, '{"pattern": "boom"}');
      expect(await reader.next()).toBe('first\n');
      expect(await reader.next()).toBeUndefined();
      expect(reader.rest()).toBe("InvalidConfigurationException('broken stream')");
      expect(logged).toEqual([new InvalidConfigurationException('broken stream')]);
    } finally {
      setEricLogger();
    }
  });
});

describe('SocketServer fallback for other commands', () => {
  it('answers a pattern command with the fallback result; eric verbs keep their meaning', async () => {
    const seen: unknown[] = [];
    const server = await startServer({
      fallback: (command) => {
        seen.push(command);
        if (command.pattern === 'sum') return (command.data as number[]).reduce((a, b) => a + b, 0);
        if (command.pattern === 'echo') return String(command.data);
        if (command.pattern === 'fail') throw new InvalidConfigurationException('no such thing');
        return undefined;
      },
    });
    expect(await exchangeRaw(server.path, '{"pattern": "sum", "data": [1, 2, 3]}')).toBe('6');
    expect(await exchangeRaw(server.path, '{"pattern": "echo", "data": "hi"}')).toBe('hi');
    expect(await exchangeRaw(server.path, '{"pattern": "fail"}')).toBe(
      "InvalidConfigurationException('no such thing')",
    );
    expect(await exchangeRaw(server.path, '{"pattern": "nope"}')).toBe('InvalidMessageFormat("Missing verb \'v\'")');
    expect(await exchangeRaw(server.path, '{"v": "zz"}')).toBe('InvalidMessageFormat(\'Unknown verb "zz"\')');
    expect(await exchangeRaw(server.path, '{"v": "c", "pattern": "sum", "data": [1]}')).toMatch(UUID);
    expect(seen).toEqual([
      { pattern: 'sum', data: [1, 2, 3] },
      { pattern: 'echo', data: 'hi' },
      { pattern: 'fail' },
      { pattern: 'nope' },
      { v: 'zz' },
    ]);
  });

  it('verb c uses the createChannel option', async () => {
    const server = await startServer({ createChannel: () => new SSEChannel({ retryTimeoutMilliseconds: 1500 }) });
    const channelId = await exchangeRaw(server.path, '{"v": "c"}');
    expect((server.container.get(channelId) as SSEChannel).retryTimeoutMilliseconds).toBe(1500);
  });

  it('acts on the container it is given', async () => {
    const container = new ChannelContainer();
    const channel = new SSEChannel({ channelId: 'shared' });
    container.register(channel);
    const server = await startServer({ container });
    expect(server.container).toBe(container);
    expect(await exchangeRaw(server.path, '{"v": "r", "c": "shared"}')).toMatch(UUID);
    expect(channel.getConnections()).toHaveLength(1);
  });
});

describe('SocketServer socket file and lifecycle', () => {
  it('creates the socket file with mode 0600, or the mode asked for', async () => {
    const server = await startServer();
    expect((await stat(server.path)).mode & 0o777).toBe(0o600);
    const shared = await startServer({ socketFileMode: 0o660 }, dir.path('shared.sock'));
    expect((await stat(shared.path)).mode & 0o777).toBe(0o660);
  });

  it('replaces a stale socket file nobody listens on', async () => {
    const stalePath = dir.path('stale.sock');
    const scratch = createServer();
    await new Promise<void>((resolve) => scratch.listen(dir.path('scratch.sock'), resolve));
    await link(dir.path('scratch.sock'), stalePath); // a second name for the socket outlives the server
    await new Promise<void>((resolve) => scratch.close(() => resolve()));
    expect((await lstat(stalePath)).isSocket()).toBe(true);

    const server = await startServer({}, stalePath);
    expect(await exchangeRaw(stalePath, '{"v": "c"}')).toMatch(UUID);
    expect(server.listening).toBe(true);
  });

  it('refuses to start on a path a live server listens on, leaving that server working', async () => {
    const live = await startServer();
    const second = new SocketServer(live.path);
    await expect(second.main()).rejects.toThrow(SocketPathInUseException);
    await expect(second.main()).rejects.toThrow(`A server is already listening on ${live.path}`);
    expect(second.listening).toBe(false);
    expect(await exchangeRaw(live.path, '{"v": "c"}')).toMatch(UUID);
  });

  it('refuses to replace a file that is not a socket', async () => {
    const path = dir.path('notes.txt');
    await writeFile(path, 'keep me');
    await expect(SocketServer.start(path)).rejects.toThrow(InvalidConfigurationException);
    expect(await readFile(path, 'utf8')).toBe('keep me');
  });

  it('rejects bad options by name', () => {
    expect(() => new SocketServer(dir.path(), { maxCommandBytes: 0 })).toThrow(/maxCommandBytes/);
    expect(() => new SocketServer(dir.path(), { idleTimeoutMs: -1 })).toThrow(/idleTimeoutMs/);
    expect(() => new SocketServer(dir.path(), { streamProbeIntervalMs: 0.5 })).toThrow(/streamProbeIntervalMs/);
    expect(() => new SocketServer(dir.path(), { socketFileMode: 0o1777 })).toThrow(/socketFileMode/);
    expect(() => new SocketServer('')).toThrow(InvalidConfigurationException);
  });

  it('main() twice is an error; shutdown() ends streams cleanly, removes the file and leaves no handle open', async () => {
    const server = await startServer();
    await expect(server.main()).rejects.toThrow(InvalidConfigurationException);
    const { channelId, listenerId } = await channelWithListener(server);
    const channel = server.container.get(channelId);
    const listening = await openStream(server.path, `{"v": "l", "c": "${channelId}", "r": "${listenerId}"}`);
    const watching = await openStream(server.path, `{"v": "w", "c": "${channelId}"}`);
    await waitForListeners(channel, 2);
    const idle = await connect(server.path); // connected, command never sent: dropped by shutdown
    const idleClosed = new Promise((resolve) => idle.once('close', resolve));

    await server.shutdown();
    expect(server.listening).toBe(false);
    expect(await listening.next()).toBeUndefined();
    expect(listening.rest()).toBe('');
    expect(await watching.next()).toBeUndefined();
    expect(watching.rest()).toBe('');
    await Promise.all([listening.closed, watching.closed]);
    expect(channel.getListener(listenerId).isRunning()).toBe(false);
    expect(channel.getConnections().map((c) => c.listener.id)).toEqual([listenerId]);
    await expect(lstat(server.path)).rejects.toMatchObject({ code: 'ENOENT' });
    await server.shutdown(); // a second call is a no-op
    await idleClosed;
    expect(liveHandles()).toEqual(handlesBefore);
  });

  it('shutdown() does not wait forever on a stream client that stopped reading', async () => {
    const server = await startServer({ idleTimeoutMs: 50 });
    const { channelId, listenerId } = await channelWithListener(server);
    for (let i = 0; i < 200; i++) {
      await server.container.get(channelId).dispatch(listenerId, { type: 'bulk', payload: 'q'.repeat(8192) });
    }
    const socket = await connect(server.path);
    socket.pause(); // never reads: the server cannot flush the stream's end
    socket.end(`{"v": "l", "c": "${channelId}", "r": "${listenerId}"}`);
    await until(() => queuedFor(server, channelId, listenerId) < 200, 'the stream to start');
    await server.shutdown();
    await closeSocket(socket);
  });
});
