import { afterAll, afterEach, beforeAll, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Message, SocketClient, connectRedisBackend } from '../../src/index.js';
import { RawSseClient, type SseEvent } from '../streaming/support.js';
import { compileEntry } from '../support/compile-entry.js';
import { AppInstance } from './e2e/instance.js';
import { RedisServer, describeWithRedis } from './redis-server.js';
import { uniquePrefix } from './support.js';

const TEST_TIMEOUT_MS = 60_000;

async function request(
  method: string,
  url: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

async function created(url: string, body: unknown = {}): Promise<string> {
  const answer = await request('POST', url, body);
  expect(answer.status).toBe(201);
  return answer.body.id as string;
}

/** Payloads as sent: strings go out as they are, anything else as JSON. */
function dataOf(events: SseEvent[]): unknown[] {
  return events.map((event) => {
    try {
      return JSON.parse(event.data) as unknown;
    } catch {
      return event.data;
    }
  });
}

describeWithRedis('several application instances on one Redis', () => {
  let compiled: Awaited<ReturnType<typeof compileEntry>>;
  let server: RedisServer;
  let socketDir: string;
  let instances: AppInstance[] = [];
  let clients: RawSseClient[] = [];

  beforeAll(async () => {
    // One after the other, so that afterAll stops the server even when compiling fails.
    server = await RedisServer.start({ durable: true });
    compiled = await compileEntry('test/redis/e2e/instance-main.ts');
    socketDir = await mkdtemp(join(tmpdir(), 'eric-redis-e2e-'));
  }, 180_000);

  afterAll(async () => {
    await compiled?.remove();
    await server?.dispose();
    if (socketDir !== undefined) await rm(socketDir, { recursive: true, force: true });
  });

  afterEach(async () => {
    for (const client of clients) client.close();
    clients = [];
    await Promise.all(instances.map((instance) => instance.close()));
    instances = [];
  });

  async function start(prefix: string, ...names: string[]): Promise<AppInstance[]> {
    const started = await Promise.all(
      names.map((name) =>
        AppInstance.start(compiled.entry, name, {
          REDIS_URL: server.url,
          KEY_PREFIX: prefix,
          SOCKET_PATH: join(socketDir, `${prefix.replace(/\W/g, '')}-${name}.sock`),
        }),
      ),
    );
    instances.push(...started);
    return started;
  }

  async function stream(url: string): Promise<RawSseClient> {
    const client = await RawSseClient.open(url);
    clients.push(client);
    expect(client.status).toBe(200);
    return client;
  }

  it(
    'streams, on one instance, what a REST call and a socket command on another sent',
    async () => {
      const [a, b] = await start(uniquePrefix(), 'a', 'b');
      const channelId = await created(`${a.baseUrl}/channels`);
      const listenerId = await created(`${a.baseUrl}/channels/${channelId}/listeners`);
      expect((await request('GET', `${b.baseUrl}/channels`)).body.ids).toContain(channelId);
      expect((await request('GET', `${b.baseUrl}/channels/${channelId}/listeners`)).body).toEqual({
        ids: [listenerId],
      });

      const onB = await stream(`${b.baseUrl}/channels/${channelId}/listeners/${listenerId}/stream`);
      const dispatched = await request('POST', `${a.baseUrl}/channels/${channelId}/listeners/${listenerId}/messages`, {
        type: 'from-rest',
        payload: { n: 1 },
      });
      expect(dispatched).toEqual({ status: 202, body: { status: 'ack' } });
      const socketOnA = new SocketClient(a.socketPath);
      expect(await socketOnA.broadcastMessage(channelId, 'from-socket', { n: 2 })).toBe('ack');
      const events = await onB.waitForEvents(2);
      expect(events.map((event) => event.event)).toEqual(['from-rest', 'from-socket']);
      expect(dataOf(events)).toEqual([{ n: 1 }, { n: 2 }]);

      // A channel made over the socket on A is streamed by a watcher on B.
      const socketChannel = await socketOnA.createChannel();
      const watcher = await stream(`${b.baseUrl}/channels/${socketChannel}/watch`);
      expect(await socketOnA.broadcastMessage(socketChannel, 'watched')).toBe('ack');
      expect((await watcher.waitForEvents(1))[0].event).toBe('watched');

      // Removals on A end the streams on B.
      expect((await request('DELETE', `${a.baseUrl}/channels/${channelId}/listeners/${listenerId}`)).status).toBe(204);
      await onB.ended;
      expect(await socketOnA.removeChannel(socketChannel)).toBe('ack');
      await watcher.ended;
      expect((await request('GET', `${b.baseUrl}/channels/${socketChannel}/listeners`)).status).toBe(404);
      expect(a.unhandled.concat(b.unhandled)).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'keeps channels, listeners, pending messages and @OnMessage listeners when every instance restarts',
    async () => {
      const prefix = uniquePrefix();
      const [a, b] = await start(prefix, 'a', 'b');
      const channelId = await created(`${a.baseUrl}/channels`, { id: 'kept', retryTimeoutMilliseconds: 7 });
      const listenerId = await created(`${b.baseUrl}/channels/${channelId}/listeners`);
      const logListener = await created(`${a.baseUrl}/channels/log/listeners`);
      await request('POST', `${a.baseUrl}/channels/${channelId}/listeners/${listenerId}/messages`, { type: 'pending' });
      expect((await request('GET', `${b.baseUrl}/channels/eric/listeners`)).body).toEqual({ ids: ['Echo'] });
      // Stopping must release everything: each process exits by itself once its app is closed.
      expect(await Promise.all([a.close(), b.close()])).toEqual([0, 0]);

      // While no instance runs, a message for the @OnMessage listener waits in Redis.
      const outside = await connectRedisBackend({ redis: server.url, keyPrefix: prefix });
      await (await outside.channelRepository.loadOne('eric')).dispatch('Echo', new Message('ping', 'while-down'));
      await outside.close();

      const [a2, b2] = await start(prefix, 'a2', 'b2');
      expect((await request('GET', `${b2.baseUrl}/channels`)).body.ids).toEqual(['log', 'eric', 'kept']);
      expect((await request('GET', `${a2.baseUrl}/channels/eric/listeners`)).body).toEqual({ ids: ['Echo'] });
      expect((await request('GET', `${a2.baseUrl}/channels/kept/listeners`)).body).toEqual({ ids: [listenerId] });
      const pending = await stream(`${a2.baseUrl}/channels/kept/listeners/${listenerId}/stream`);
      expect((await pending.waitForEvents(1))[0]).toMatchObject({ event: 'pending', retry: 7 });
      const log = await stream(`${b2.baseUrl}/channels/log/listeners/${logListener}/stream`);
      const [pong] = await log.waitForEvents(1);
      expect(pong).toMatchObject({ event: 'pong', data: 'while-down' });
      expect([a, b, a2, b2].flatMap((instance) => instance.unhandled)).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'answers 503 / RepositoryError while Redis is down, and resumes streams with nothing lost when it is back',
    async () => {
      const [a, b] = await start(uniquePrefix(), 'a', 'b');
      const channelId = await created(`${a.baseUrl}/channels`);
      const listenerId = await created(`${a.baseUrl}/channels/${channelId}/listeners`);
      const messages = `${a.baseUrl}/channels/${channelId}/listeners/${listenerId}/messages`;
      const onB = await stream(`${b.baseUrl}/channels/${channelId}/listeners/${listenerId}/stream`);
      await request('POST', messages, { type: 'm', payload: 'before' });
      await onB.waitForEvents(1);

      await server.stop('SIGKILL');
      const refused = await request('POST', messages, { type: 'm', payload: 'refused' });
      expect(refused.status).toBe(503);
      expect(refused.body).toMatchObject({ statusCode: 503, error: 'RepositoryError' });
      const socketOnA = new SocketClient(a.socketPath);
      await expect(socketOnA.dispatch(channelId, listenerId, 'm', 'refused')).rejects.toMatchObject({
        name: 'RepositoryError',
      });
      expect((await request('GET', `${a.baseUrl}/channels`)).status).toBe(503);

      await server.restart();
      // Nothing in the library to await across processes: retry until instance A has reconnected.
      const deadline = Date.now() + 20_000;
      for (;;) {
        const answer = await request('POST', messages, { type: 'm', payload: 'after' });
        if (answer.status === 202) break;
        expect(answer.status).toBe(503);
        if (Date.now() > deadline) throw new Error('instance A did not reconnect to Redis');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(dataOf(await onB.waitForEvents(2))).toEqual(['before', 'after']);
      expect([a.alive, b.alive]).toEqual([true, true]);
      expect(a.unhandled.concat(b.unhandled)).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'gives each message of a listener streamed on two instances to one of the streams: none twice, none lost',
    async () => {
      const [a, b] = await start(uniquePrefix(), 'a', 'b');
      const channelId = await created(`${a.baseUrl}/channels`);
      const listenerId = await created(`${a.baseUrl}/channels/${channelId}/listeners`);
      const path = `/channels/${channelId}/listeners/${listenerId}`;
      const streams = [await stream(`${a.baseUrl}${path}/stream`), await stream(`${b.baseUrl}${path}/stream`)];
      const total = 200;
      for (let i = 0; i < total; i += 20) {
        await Promise.all(
          Array.from({ length: 20 }, (_, j) =>
            request('POST', `${(j % 2 === 0 ? a : b).baseUrl}${path}/messages`, { type: 'n', payload: i + j }),
          ),
        );
      }
      const received = (): number => streams.reduce((sum, client) => sum + client.events.length, 0);
      while (received() < total) {
        await Promise.race(streams.map((client) => client.waitForEvents(client.events.length + 1)));
      }
      const perStream = streams.map((client) => dataOf(client.events) as number[]);
      const all = perStream.flat().sort((x, y) => x - y);
      expect(all).toEqual(Array.from({ length: total }, (_, i) => i));
      expect(received()).toBe(total);
    },
    TEST_TIMEOUT_MS,
  );
});
