import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { link, lstat, stat } from 'node:fs/promises';
import { get, type IncomingMessage } from 'node:http';
import { createServer } from 'node:net';
import { firstValueFrom } from 'rxjs';
import { InMemoryConnectionsFactory } from '../../src/core/connection.js';
import { InvalidConfigurationException } from '../../src/core/errors.js';
import { SSEChannel } from '../../src/prefabs/sse-channel.js';
import { ERIC_SSE_CONNECTIONS_FACTORY } from '../../src/nest/constants.js';
import { EricSseModule } from '../../src/nest/eric-sse.module.js';
import { EricSocketTransport } from '../../src/nest/transport/eric-socket-transport.js';
import { ChannelContainer } from '../../src/servers/channel-container.js';
import { SocketPathInUseException, SocketServer } from '../../src/servers/socket/index.js';
import {
  closeSocket,
  connect,
  exchangeRaw,
  openStream,
  readAll,
  tempSocketDir,
  until,
  UUID,
} from '../servers/socket/support.js';
import { PatternsController, startTransportApp, type TransportApp } from './support.js';

let dir: Awaited<ReturnType<typeof tempSocketDir>>;
let apps: { close(): Promise<void> }[];

beforeEach(async () => {
  dir = await tempSocketDir();
  apps = [];
});

afterEach(async () => {
  for (const app of apps.reverse()) await app.close();
  await dir.remove();
});

async function start(options: Partial<Parameters<typeof startTransportApp>[0]> = {}): Promise<TransportApp> {
  const started = await startTransportApp({ path: dir.path(), ...options });
  apps.push(started.app);
  return started;
}

const send = (path: string, command: unknown): Promise<string> => exchangeRaw(path, JSON.stringify(command));

async function channelWithListener(path: string): Promise<{ channelId: string; listenerId: string }> {
  const channelId = await send(path, { v: 'c' });
  const listenerId = await send(path, { v: 'r', c: channelId });
  return { channelId, listenerId };
}

function httpGet(url: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => get(url, resolve).once('error', reject));
}

/** Reads an HTTP response's body as it arrives until `until` holds. */
function readUntil(response: IncomingMessage, done: (body: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      body += chunk;
      if (done(body)) resolve(body);
    });
    response.once('end', () => reject(new Error(`response ended before the expected text; got ${body}`)));
  });
}

describe('EricSocketTransport: the eric verbs act on the app container', () => {
  it('c, r, b, d, l, rl, rc each answer as the protocol says, on the DI ChannelContainer', async () => {
    const { container, app } = await start();
    const path = dir.path();
    const channelId = await send(path, { v: 'c' });
    expect(channelId).toMatch(UUID);
    const channel = container.get(channelId);
    expect(channel).toBeInstanceOf(SSEChannel);
    expect(channel.connectionsFactory).toBe(app.get(ERIC_SSE_CONNECTIONS_FACTORY));

    const listenerId = await send(path, { v: 'r', c: channelId });
    const other = await send(path, { v: 'r', c: channelId });
    expect(listenerId).toMatch(UUID);
    expect(channel.getListener(listenerId).isRunning()).toBe(false);

    expect(await send(path, { v: 'b', c: channelId, t: 'news', p: { text: 'héllo' } })).toBe('ack');
    expect(await send(path, { v: 'd', c: channelId, r: listenerId, t: 'only', p: [1, 2.5] })).toBe('ack');

    const stream = await openStream(path, JSON.stringify({ v: 'l', c: channelId, r: listenerId }));
    expect(await stream.next()).toBe('{"event": "news", "retry": 5, "data": {"text": "h\\u00e9llo"}}\n');
    expect(await stream.next()).toBe('{"event": "only", "retry": 5, "data": [1, 2.5]}\n');
    expect(channel.getListener(listenerId).isRunning()).toBe(true);

    expect(await send(path, { v: 'rl', c: channelId, r: listenerId })).toBe('ack');
    expect(await stream.next()).toBeUndefined(); // the removed listener's stream ends
    expect(channel.hasListener(listenerId)).toBe(false);
    expect(channel.hasListener(other)).toBe(true);

    expect(await send(path, { v: 'rc', c: channelId })).toBe('ack');
    expect(container.has(channelId)).toBe(false);
  });

  it('w streams a listener of its own, removed when the client leaves', async () => {
    const { container } = await start();
    const path = dir.path();
    const channelId = await send(path, { v: 'c' });
    const channel = container.get(channelId);
    const watcher = await openStream(path, JSON.stringify({ v: 'w', c: channelId }));
    await until(() => channel.getConnections().length === 1, 'the watch listener');
    expect(await send(path, { v: 'b', c: channelId, t: 'tick', p: 1 })).toBe('ack');
    expect(await watcher.next()).toBe('{"event": "tick", "retry": 5, "data": 1}\n');
    await closeSocket(watcher.socket);
    await until(() => channel.getConnections().length === 0, 'the watch listener to be removed');
  });

  it('channels of EricSseModule.forRoot({ channels }) are reachable over the socket', async () => {
    const moduleApp = await NestFactory.createMicroservice<MicroserviceOptions>(moduleWithChannels(['news']), {
      strategy: new EricSocketTransport({ path: dir.path() }),
      logger: false,
    });
    apps.push(moduleApp);
    await moduleApp.listen();
    expect(await send(dir.path(), { v: 'r', c: 'news' })).toMatch(UUID);
    expect(moduleApp.get(ChannelContainer).get('news').getConnections()).toHaveLength(1);
  });

  it('an HTTP SSE client on the REST stream route receives what a socket command broadcast', async () => {
    const { url } = await start();
    const path = dir.path();
    const { channelId, listenerId } = await channelWithListener(path);
    const response = await httpGet(`${url}/eric-sse/channels/${channelId}/listeners/${listenerId}/stream`);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/event-stream/);
    const received = readUntil(response, (body) => body.includes('from the shell'));
    expect(await send(path, { v: 'b', c: channelId, t: 'news', p: 'from the shell' })).toBe('ack');
    const body = await received;
    expect(body).toMatch(/event: news\n/);
    expect(body).toMatch(/data: from the shell\n/);
    response.destroy();
  });

  it('a channel made over REST takes socket commands, and the REST watch route streams them', async () => {
    const { url, container } = await start();
    const created = await fetch(`${url}/eric-sse/channels`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(created.status).toBe(201);
    const { id: channelId } = (await created.json()) as { id: string };
    const response = await httpGet(`${url}/eric-sse/channels/${channelId}/watch`);
    await until(() => container.get(channelId).getConnections().length === 1, 'the watch listener');
    const received = readUntil(response, (body) => body.includes('data: 42'));
    expect(await send(dir.path(), { v: 'b', c: channelId, t: 'answer', p: 42 })).toBe('ack');
    expect(await received).toMatch(/event: answer\n(retry: 5\n)?data: 42\n/);
    response.destroy();
    await until(() => container.get(channelId).getConnections().length === 0, 'the watch listener to be removed');
  });
});

describe('EricSocketTransport: @MessagePattern and @EventPattern handlers', () => {
  const cases: [string, unknown, string][] = [
    ['a plain result, as JSON', { pattern: 'sum', data: [1, 2, 3] }, '6'],
    [
      'a Promise result; an object pattern matches whatever its key order',
      { pattern: { version: 1, cmd: 'greet' }, data: { name: 'ada' } },
      '"hello ada"',
    ],
    ['an Observable of several values: one JSON line each', { pattern: 'count', data: 3 }, '1\n2\n3\n'],
    ['an Observable of no value: an empty answer', { pattern: 'nothing', data: null }, ''],
    ['an RpcException: its message', { pattern: 'fail', data: 1 }, "RpcException('not allowed')"],
    [
      'an RpcException of an object: its JSON',
      { pattern: 'fail-object' },
      'RpcException(\'{"code": 42, "reason": "teapot"}\')',
    ],
    ['any other error: no detail leaks', { pattern: 'crash', data: 1 }, "RpcException('Internal server error')"],
    [
      'an error after two values: the lines, then the error',
      { pattern: 'half', data: 1 },
      "1\n2\nRpcException('broke after two')",
    ],
    ['an unknown pattern', { pattern: 'nope', data: 1 }, "InvalidMessageFormat('No message handler for pattern nope')"],
    [
      'an unknown object pattern',
      { pattern: { cmd: 'nope' }, data: 1 },
      'InvalidMessageFormat(\'No message handler for pattern {"cmd":"nope"}\')',
    ],
    [
      'an unknown event pattern',
      { pattern: 'nope', data: 1, event: true },
      "InvalidMessageFormat('No event handler for pattern nope')",
    ],
  ];

  it.each(cases)('%s', async (_what, command, expected) => {
    await start();
    expect(await send(dir.path(), command)).toBe(expected);
    expect(await send(dir.path(), { pattern: 'sum', data: [2, 2] })).toBe('4');
  });

  it('a handler sees its data and an EricSocketContext with the command and pattern', async () => {
    await start();
    const answer = await send(dir.path(), { pattern: 'context', data: { a: 1 }, metadata: { trace: 't1' } });
    expect(JSON.parse(answer)).toEqual({
      pattern: 'context',
      command: { pattern: 'context', data: { a: 1 }, metadata: { trace: 't1' } },
      data: { a: 1 },
    });
  });

  it('handlers use the same DI container: a channel made with verb c is listed by a handler', async () => {
    await start();
    const channelId = await send(dir.path(), { v: 'c' });
    expect(JSON.parse(await send(dir.path(), { pattern: 'channels', data: null }))).toContain(channelId);
  });

  it('an endless Observable streams as it emits, and is unsubscribed when the client leaves', async () => {
    await start();
    const torn = firstValueFrom(PatternsController.slowTornDown);
    const stream = await openStream(dir.path(), JSON.stringify({ pattern: 'ticks', data: null }));
    expect(await stream.next()).toBe('0\n');
    expect(await stream.next()).toBe('1\n');
    expect(await stream.next()).toBe('2\n');
    await closeSocket(stream.socket);
    await torn;
  });

  it('an event runs every @EventPattern handler of its pattern and is answered ack at once', async () => {
    const { audit } = await start();
    const received: unknown[] = [];
    audit.received.subscribe((event) => received.push(event));
    expect(await send(dir.path(), { pattern: 'audit', data: { user: 7 } })).toBe('ack');
    await until(() => received.length === 2, 'both event handlers');
    expect(received).toEqual([
      { pattern: 'audit', data: { user: 7 } },
      { pattern: 'audit (second handler)', data: { user: 7 } },
    ]);
  });

  it('"event": true runs a @MessagePattern handler as an event: answered ack, its result dropped', async () => {
    const { audit } = await start();
    const received = firstValueFrom(audit.received);
    expect(await send(dir.path(), { pattern: 'also-event', data: 5, event: true })).toBe('ack');
    expect(await received).toEqual({ pattern: 'also-event', data: 5 });
  });

  it('a failing event handler is still answered ack and leaves the server working', async () => {
    await start();
    expect(await send(dir.path(), { pattern: 'audit-fails', data: 1 })).toBe('ack');
    expect(await send(dir.path(), { v: 'c' })).toMatch(UUID);
  });

  it('a command with both an eric verb and a pattern is the eric verb', async () => {
    const { container } = await start();
    const answer = await send(dir.path(), { v: 'c', pattern: 'sum', data: [1] });
    expect(container.has(answer)).toBe(true);
  });
});

describe('EricSocketTransport: bad input is answered and the server keeps serving', () => {
  const cases: [string, (channelId: string) => string, string | RegExp][] = [
    ['malformed JSON', () => '{"v": ', /^InvalidMessageFormat\('Malformed JSON: .+'\)$/],
    ['a JSON array', () => '[1]', "InvalidMessageFormat('Command must be a JSON object, got an array')"],
    ['a JSON string', () => '"c"', "InvalidMessageFormat('Command must be a JSON object, got a string')"],
    ['no verb and no pattern', () => '{"c": "x"}', 'InvalidMessageFormat("Missing verb \'v\'")'],
    ['an unknown verb', () => '{"v": "zz"}', 'InvalidMessageFormat(\'Unknown verb "zz"\')'],
    [
      'b without t',
      (c) => `{"v": "b", "c": "${c}"}`,
      "InvalidMessageFormat(\"Missing 't' (message type) for verb 'b'\")",
    ],
    [
      'd without t',
      (c) => `{"v": "d", "c": "${c}", "r": "x"}`,
      "InvalidMessageFormat(\"Missing 't' (message type) for verb 'd'\")",
    ],
    ['an unknown channel', () => '{"v": "b", "c": "2", "t": "x"}', "InvalidChannelException('No channel with id 2')"],
    [
      'an unknown listener for d',
      (c) => `{"v": "d", "c": "${c}", "r": "nobody", "t": "x"}`,
      /^InvalidListenerException\(.*nobody.*\)$/,
    ],
    [
      'an unknown listener for l',
      (c) => `{"v": "l", "c": "${c}", "r": "nobody"}`,
      /^InvalidListenerException\(.*nobody.*\)$/,
    ],
    [
      'a command over the size limit',
      () => `{"v": "b", "p": "${'x'.repeat(4096)}"}`,
      "InvalidMessageFormat('Command exceeds 1024 bytes')",
    ],
  ];

  it.each(cases)('%s', async (_what, command, expected) => {
    const { container } = await start({ maxCommandBytes: 1024 });
    const channelId = await send(dir.path(), { v: 'c' });
    const answer = await exchangeRaw(dir.path(), command(channelId));
    if (typeof expected === 'string') expect(answer).toBe(expected);
    else expect(answer).toMatch(expected);
    expect(container.get(channelId).getConnections()).toEqual([]);
    expect(await send(dir.path(), { v: 'r', c: channelId })).toMatch(UUID);
  });

  it('a client that never half-closes is answered and closed after the idle timeout', async () => {
    await start({ idleTimeoutMs: 100 });
    const idle = await connect(dir.path());
    const answer = readAll(idle);
    idle.write('{"v": "c"');
    expect(await answer).toBe("InvalidMessageFormat('No complete command within 100 ms')");
    await closeSocket(idle);
    expect(await send(dir.path(), { v: 'c' })).toMatch(UUID);
  });

  it('200 concurrent commands are all answered', async () => {
    const { container } = await start();
    const { channelId } = await channelWithListener(dir.path());
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        i % 4 === 0
          ? send(dir.path(), { pattern: 'sum', data: [i, 1] })
          : i % 4 === 1
            ? send(dir.path(), { v: 'c' })
            : send(dir.path(), { v: 'b', c: channelId, t: 'n', p: i }),
      ),
    );
    answers.forEach((answer, i) => {
      if (i % 4 === 0) expect(answer).toBe(String(i + 1));
      else if (i % 4 === 1) expect(answer).toMatch(UUID);
      else expect(answer).toBe('ack');
    });
    expect(container.getAllIds()).toHaveLength(1 + 1 + 50); // the @OnMessage channel, ours, 50 created
  });
});

describe('EricSocketTransport lifecycle', () => {
  it('the socket file is 0600 by default, socketFileMode otherwise; app.close() removes it and ends streams', async () => {
    const { app, transport } = await start();
    expect((await stat(dir.path())).mode & 0o777).toBe(0o600);
    const { channelId, listenerId } = await channelWithListener(dir.path());
    const stream = await openStream(dir.path(), JSON.stringify({ v: 'l', c: channelId, r: listenerId }));
    await until(
      () => transport.unwrap<SocketServer>().container.get(channelId).getListener(listenerId).isRunning(),
      'listening',
    );
    await app.close();
    apps = [];
    expect(await stream.next()).toBeUndefined();
    await expect(lstat(dir.path())).rejects.toMatchObject({ code: 'ENOENT' });

    const other = await start({ path: dir.path('open.sock'), socketFileMode: 0o660 });
    expect((await stat(dir.path('open.sock'))).mode & 0o777).toBe(0o660);
    expect(other.transport.options.socketFileMode).toBe(0o660);
  });

  it('reports its status and listening/closed events; unwrap() is the SocketServer over the app container', async () => {
    const transport = new EricSocketTransport({ path: dir.path() });
    const statuses: string[] = [];
    transport.status.subscribe((status) => statuses.push(status));
    const events: string[] = [];
    transport.on('listening', () => events.push('listening'));
    transport.on('closed', () => events.push('closed'));
    expect(() => transport.unwrap()).toThrow(InvalidConfigurationException);
    const app = await NestFactory.createMicroservice<MicroserviceOptions>(moduleWithChannels([]), {
      strategy: transport,
      logger: false,
    });
    await app.listen();
    const server = transport.unwrap<SocketServer>();
    expect(server).toBeInstanceOf(SocketServer);
    expect(server.container).toBe(app.get(ChannelContainer));
    expect(server.path).toBe(dir.path());
    await app.close();
    expect(statuses).toEqual(['listening', 'closed']);
    expect(events).toEqual(['listening', 'closed']);
    await expect(lstat(dir.path())).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a live server on the path is a startup error; a stale socket file is replaced', async () => {
    await start();
    const second = await startTransportApp({ path: dir.path() }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(second).toBeInstanceOf(SocketPathInUseException);
    expect(await send(dir.path(), { v: 'c' })).toMatch(UUID); // the first one is untouched

    // Node removes a socket file when its server closes; a crashed process leaves it behind. A hard link
    // to a socket file outlives the server, so it stands in for one that nobody listens on.
    const stalePath = dir.path('stale.sock');
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(dir.path('holder.sock'), resolve));
    await link(dir.path('holder.sock'), stalePath);
    await new Promise<void>((resolve) => holder.close(() => resolve()));
    expect((await lstat(stalePath)).isSocket()).toBe(true);
    await start({ path: stalePath });
    expect(await send(stalePath, { v: 'c' })).toMatch(UUID);
  });

  it('without EricSseModule it needs a container: a clear startup error, or the container given', async () => {
    @Module({})
    class Bare {}
    const failing = await NestFactory.createMicroservice<MicroserviceOptions>(Bare, {
      strategy: new EricSocketTransport({ path: dir.path() }),
      logger: false,
    });
    apps.push(failing);
    await expect(failing.listen()).rejects.toThrow(/EricSseModule.forRoot\(\).*\{ container \}/);
    await expect(lstat(dir.path())).rejects.toMatchObject({ code: 'ENOENT' });

    const container = new ChannelContainer();
    const connectionsFactory = new InMemoryConnectionsFactory();
    const working = await NestFactory.createMicroservice<MicroserviceOptions>(Bare, {
      strategy: new EricSocketTransport({
        path: dir.path('own.sock'),
        container,
        createChannel: () => new SSEChannel({ connectionsFactory, retryTimeoutMilliseconds: 9 }),
      }),
      logger: false,
    });
    apps.push(working);
    await working.listen();
    const channelId = await send(dir.path('own.sock'), { v: 'c' });
    expect(container.get(channelId).connectionsFactory).toBe(connectionsFactory);
  });

  it.each([
    ['no options', undefined, /path/],
    ['an empty path', { path: '' }, /path/],
    ['a negative idle timeout', { path: 'x', idleTimeoutMs: -1 }, /idleTimeoutMs/],
    ['a zero size limit', { path: 'x', maxCommandBytes: 0 }, /maxCommandBytes/],
    ['a socket file mode over 0o777', { path: 'x', socketFileMode: 0o1777 }, /socketFileMode/],
  ])('refuses %s with InvalidConfigurationException', (_what, options, message) => {
    const create = (): EricSocketTransport => new EricSocketTransport(options as never);
    expect(create).toThrow(InvalidConfigurationException);
    expect(create).toThrow(message);
  });
});

function moduleWithChannels(ids: string[]): new () => unknown {
  @Module({ imports: [EricSseModule.forRoot({ channels: ids.map((id) => ({ id })) })] })
  class WithChannels {}
  return WithChannels;
}
