import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  connectRedisBackend,
  EncodedSseEvent,
  ERIC_SSE_CHANNEL_REPOSITORY,
  RedisSseHistory,
  SSEChannel,
  MESSAGE_TYPE_HISTORY_GAP,
  type EricSseModuleOptions,
  type RedisChannelRepository,
} from '../../src/index.js';
import { RedisServer, describeWithRedis } from '../redis/redis-server.js';
import { uniquePrefix } from '../redis/support.js';
import {
  addListener,
  dispatchAll,
  startResumeApp,
  stopped,
  streamUrl,
  summary,
  SseTestClient,
  STREAM_PATHS,
  type ResumeApp,
} from './support.js';

describeWithRedis('resuming SSE streams on Redis', () => {
  let redis: RedisServer;
  const apps: ResumeApp[] = [];
  const clients: SseTestClient[] = [];

  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    await redis.dispose();
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  /** Two instances (each its own Nest app and port) sharing one Redis and key prefix. */
  async function instances(count: number, options: EricSseModuleOptions = {}): Promise<ResumeApp[]> {
    const keyPrefix = uniquePrefix();
    const started: ResumeApp[] = [];
    for (let i = 0; i < count; i++) {
      const app = await startResumeApp({ redis: redis.url, keyPrefix, channels: [{ id: 'news' }], ...options });
      apps.push(app);
      started.push(app);
    }
    return started;
  }

  describe.each(STREAM_PATHS)('%s', (path) => {
    async function connect(app: ResumeApp, listenerId: string, headers: Record<string, string> = {}, query = '') {
      const client = await SseTestClient.open(streamUrl(app.origin, path, 'news', listenerId, true) + query, headers);
      clients.push(client);
      expect(client.status).toBe(200);
      return client;
    }

    /** Closes the client and waits until `app` has stopped the listener it streamed. */
    async function leave(app: ResumeApp, client: SseTestClient, listenerId: string) {
      const gone = stopped(app.container.get('news').getListener(listenerId));
      client.close();
      await gone;
    }

    it('same instance: Last-Event-ID replays the history, then the queue, in order and once', async () => {
      const [a] = await instances(1);
      const listener = await addListener(a.api, 'news');
      const first = await connect(a, listener);
      await dispatchAll(a.api, 'news', listener, ['e1', 'e2', 'e3', 'e4']);
      expect((await first.waitForEvents(4)).map((e) => e.id)).toEqual(['1', '2', '3', '4']);
      await leave(a, first, listener);
      await dispatchAll(a.api, 'news', listener, ['e5', 'e6']);
      const resumed = await connect(a, listener, { 'Last-Event-ID': '2' });
      expect(summary(await resumed.waitForEvents(4))).toEqual([
        ['e3', 'e3', '3'],
        ['e4', 'e4', '4'],
        ['e5', 'e5', '5'],
        ['e6', 'e6', '6'],
      ]);
      await dispatchAll(a.api, 'news', listener, ['e7']);
      expect(summary(await resumed.waitForEvents(5))).toHaveLength(5);
      expect(resumed.events.at(-1)).toEqual({ event: 'e7', data: 'e7', id: '7' });
    });

    it('other instance: a client resumes on B from an id A gave, and ids go on from there', async () => {
      const [a, b] = await instances(2);
      const listener = await addListener(a.api, 'news');
      const onA = await connect(a, listener);
      await dispatchAll(a.api, 'news', listener, ['e1', 'e2', 'e3']);
      await onA.waitForEvents(3);
      await leave(a, onA, listener);
      await dispatchAll(b.api, 'news', listener, ['e4']); // queued in Redis while nobody streams
      const onB = await connect(b, listener, { 'Last-Event-ID': '1' });
      expect(summary(await onB.waitForEvents(3))).toEqual([
        ['e2', 'e2', '2'],
        ['e3', 'e3', '3'],
        ['e4', 'e4', '4'],
      ]);
      await dispatchAll(a.api, 'news', listener, ['e5']); // dispatched through A, streamed by B
      expect((await onB.waitForEvents(4))[3]).toEqual({ event: 'e5', data: 'e5', id: '5' });
      expect(onB.events).toHaveLength(4);
    });

    it('ids increase per listener across instances and reconnects, also without Last-Event-ID', async () => {
      const [a, b] = await instances(2);
      const alice = await addListener(a.api, 'news');
      const bob = await addListener(b.api, 'news');
      const aliceOnA = await connect(a, alice);
      const bobOnB = await connect(b, bob);
      await dispatchAll(a.api, 'news', alice, ['a1']);
      await a.api.post('/channels/news/broadcast').send({ type: 'all', payload: 1 }).expect(202);
      expect(summary(await aliceOnA.waitForEvents(2))).toEqual([
        ['a1', 'a1', '1'],
        ['all', '1', '2'],
      ]);
      expect(summary(await bobOnB.waitForEvents(1))).toEqual([['all', '1', '1']]);
      await leave(a, aliceOnA, alice);
      const aliceOnB = await connect(b, alice);
      await b.api.post('/channels/news/broadcast').send({ type: 'all', payload: 2 }).expect(202);
      expect(summary(await aliceOnB.waitForEvents(1))).toEqual([['all', '2', '3']]);
      expect(summary(await bobOnB.waitForEvents(2))[1]).toEqual(['all', '2', '2']);
    });

    it('takes the id from the lastEventId query parameter', async () => {
      const [a, b] = await instances(2);
      const listener = await addListener(a.api, 'news');
      const onA = await connect(a, listener);
      await dispatchAll(a.api, 'news', listener, ['e1', 'e2']);
      await onA.waitForEvents(2);
      await leave(a, onA, listener);
      const onB = await connect(b, listener, {}, '?lastEventId=1');
      expect(summary(await onB.waitForEvents(1))).toEqual([['e2', 'e2', '2']]);
    });

    it(`answers an id older than the history (maxEvents) with ${MESSAGE_TYPE_HISTORY_GAP}, then what it holds`, async () => {
      const [a, b] = await instances(2, { history: { maxEvents: 2 } });
      const listener = await addListener(a.api, 'news');
      const onA = await connect(a, listener);
      await dispatchAll(a.api, 'news', listener, ['e1', 'e2', 'e3', 'e4']);
      await onA.waitForEvents(4);
      await leave(a, onA, listener);
      const onB = await connect(b, listener, { 'Last-Event-ID': '1' });
      const events = await onB.waitForEvents(3);
      expect(events[0]).toEqual({
        event: MESSAGE_TYPE_HISTORY_GAP,
        data: JSON.stringify({ lastEventId: 1, firstAvailableId: 3 }),
        id: '2',
      });
      expect(summary(events.slice(1))).toEqual([
        ['e3', 'e3', '3'],
        ['e4', 'e4', '4'],
      ]);
    });

    it('ignores an id from the future: the stream starts from the queue', async () => {
      const [a] = await instances(1);
      const listener = await addListener(a.api, 'news');
      await dispatchAll(a.api, 'news', listener, ['e1']);
      const client = await connect(a, listener, { 'Last-Event-ID': '50' });
      expect(summary(await client.waitForEvents(1))).toEqual([['e1', 'e1', '1']]);
    });
  });

  it('drops history entries past maxAgeMilliseconds (Redis clock): an older id is then a gap', async () => {
    const [a] = await instances(1, { history: { maxAgeMilliseconds: 150 } });
    const listener = await addListener(a.api, 'news');
    const client = await SseTestClient.open(streamUrl(a.origin, 'fast path', 'news', listener));
    clients.push(client);
    await dispatchAll(a.api, 'news', listener, ['e1', 'e2']);
    await client.waitForEvents(2);
    const gone = stopped(a.container.get('news').getListener(listener));
    client.close();
    await gone;
    const { backend } = a.app.get<RedisChannelRepository>(ERIC_SSE_CHANNEL_REPOSITORY);
    const historyKey = backend.keys.history('news', listener);
    expect(await backend.client.llen(historyKey)).toBe(2);
    // Waiting for a clock, not an event: nothing announces that entries grew old.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await dispatchAll(a.api, 'news', listener, ['e3']);
    const resumed = await SseTestClient.open(streamUrl(a.origin, 'fast path', 'news', listener), {
      'Last-Event-ID': '0',
    });
    clients.push(resumed);
    const events = await resumed.waitForEvents(2);
    expect(events[0]).toEqual({
      event: MESSAGE_TYPE_HISTORY_GAP,
      data: JSON.stringify({ lastEventId: 0, firstAvailableId: 3 }),
      id: '2',
    });
    expect(events[1]).toEqual({ event: 'e3', data: 'e3', id: '3' });
    expect(await backend.client.pttl(historyKey)).toBeLessThanOrEqual(300); // between max age and twice that
  });

  it('keeps at most maxEvents per listener in Redis, and removes ids and history with the listener or channel', async () => {
    const [a] = await instances(1, { history: { maxEvents: 3 } });
    const { backend } = a.app.get<RedisChannelRepository>(ERIC_SSE_CHANNEL_REPOSITORY);
    const keysOf = (listenerId: string) => [
      backend.keys.eventId('news', listenerId),
      backend.keys.history('news', listenerId),
    ];
    const removed = await addListener(a.api, 'news');
    const kept = await addListener(a.api, 'news');
    for (const listener of [removed, kept]) {
      const client = await SseTestClient.open(streamUrl(a.origin, 'fast path', 'news', listener));
      clients.push(client);
      await dispatchAll(a.api, 'news', listener, ['e1', 'e2', 'e3', 'e4', 'e5']);
      await client.waitForEvents(5);
    }
    const [eventId, history] = keysOf(removed);
    expect(await backend.client.get(eventId)).toBe('5');
    expect((await backend.client.lrange(history, 0, -1)).map((entry) => entry.split(':')[0])).toEqual(['3', '4', '5']);
    // Each frame is stored once, whichever listeners it went to (here both got e1..e5).
    const frames = await backend.client.keys(`${backend.keys.framePrefix}*`);
    expect(frames).toHaveLength(5);
    expect((await backend.client.mget(...frames)).sort()).toEqual(
      [1, 2, 3, 4, 5].map((n) => `event: e${n}\nretry: 5\ndata: e${n}\n\n`),
    );
    await a.api.delete(`/channels/news/listeners/${removed}`).expect(204);
    expect(await backend.client.exists(...keysOf(removed))).toBe(0);
    expect(await backend.client.exists(...keysOf(kept))).toBe(2);
    await a.api.delete('/channels/news').expect(204);
    expect(await backend.client.exists(...keysOf(kept))).toBe(0);
  });

  it('opens a stream after a known id, else after the earliest unconfirmed start (once, for any instance), else after the last id', async () => {
    const prefix = uniquePrefix();
    const [a, b] = [
      await connectRedisBackend({ redis: redis.url, keyPrefix: prefix }),
      await connectRedisBackend({ redis: redis.url, keyPrefix: prefix }),
    ];
    try {
      const channel = new SSEChannel({ channelId: 'news' });
      const connection = channel.getConnection((await channel.addListener()).id);
      const onA = new RedisSseHistory(a).forListener(channel, connection);
      const onB = new RedisSseHistory(b).forListener(channel, connection);
      const events = [1, 2, 3, 4].map((n) => new EncodedSseEvent({ event: 'e', data: n }));
      await onA.record(events.slice(0, 2));
      expect(await onA.open(1)).toEqual({ events: events.slice(1, 2), firstId: 2, gap: false });
      expect(await onA.open(undefined)).toEqual({ events: [], firstId: 3, gap: false });
      expect(await onA.open(9)).toEqual({ events: [], firstId: 3, gap: false });
      await onA.markUnconfirmed(2);
      await onA.markUnconfirmed(1);
      await onA.record(events.slice(2));
      // The client reconnects to the other instance, without an id: it gets what the unread stream was sent.
      expect(await onB.open(undefined)).toEqual({ events: events.slice(1), firstId: 2, gap: false });
      expect(await onA.open(undefined)).toEqual({ events: [], firstId: 5, gap: false });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('numbers the listeners of several channels asking in one tick in one script, each on its own', async () => {
    const backend = await connectRedisBackend({ redis: redis.url, keyPrefix: uniquePrefix() });
    try {
      const history = new RedisSseHistory(backend, { maxEvents: 2 });
      const news = new SSEChannel({ channelId: 'news' });
      const sport = new SSEChannel({ channelId: 'a:b' }); // escaped in keys
      const of = async (channel: SSEChannel) =>
        history.forListener(channel, channel.getConnection((await channel.addListener()).id));
      const [n1, n2, s1] = [await of(news), await of(news), await of(sport)];
      const shared = new EncodedSseEvent({ event: 'all', data: 1 });
      const own = new EncodedSseEvent({ event: 'own', data: 2 });
      const scripts = jest.spyOn(history as unknown as { run: (batch: unknown[]) => void }, 'run');
      const firsts = await Promise.all([
        n1.record([shared]),
        s1.record([shared, own, own]),
        n2.record([own]),
        n1.record([own]),
      ]);
      expect(scripts).toHaveBeenCalledTimes(1);
      expect(firsts).toEqual([1, 1, 1, 2]);
      expect(await n1.replay(0)).toEqual({ events: [shared, own], firstId: 1, gap: false });
      expect(await s1.replay(0)).toEqual({ events: [own, own], firstId: 2, gap: true }); // maxEvents 2
      expect(await n2.replay(0)).toEqual({ events: [own], firstId: 1, gap: false });
      expect(await backend.client.keys(`${backend.keys.framePrefix}*`)).toHaveLength(2);
    } finally {
      await backend.close();
    }
  });

  it('answers 503 before any header when the history of a resuming stream cannot be read', async () => {
    const [a] = await instances(1);
    const { backend } = a.app.get<RedisChannelRepository>(ERIC_SSE_CHANNEL_REPOSITORY);
    const listener = await addListener(a.api, 'news');
    const first = await SseTestClient.open(streamUrl(a.origin, 'fast path', 'news', listener));
    clients.push(first);
    await dispatchAll(a.api, 'news', listener, ['e1', 'e2']);
    await first.waitForEvents(2);
    const gone = stopped(a.container.get('news').getListener(listener));
    first.close();
    await gone;
    await backend.client.del(...(await backend.client.keys(`${backend.keys.framePrefix}*`)));
    const resumed = await SseTestClient.open(streamUrl(a.origin, 'fast path', 'news', listener), {
      'Last-Event-ID': '0',
    });
    clients.push(resumed);
    expect(resumed.status).toBe(503);
    await resumed.ended;
    expect(resumed.events).toEqual([]);
    // No stream runs: its listener is stopped again, as when a client leaves.
    const { listener: held } = await a.container.get('news').resolveConnection(listener);
    if (held.isRunning()) await stopped(held);
    expect(held.isRunning()).toBe(false);
  });

  it('numbers the events of many local streams woken by one broadcast, each listener on its own', async () => {
    const [a] = await instances(1);
    const listeners: string[] = [];
    for (let i = 0; i < 20; i++) listeners.push(await addListener(a.api, 'news'));
    await dispatchAll(a.api, 'news', listeners[0], ['only-first']);
    const streams = await Promise.all(
      listeners.map((listener, i) =>
        SseTestClient.open(streamUrl(a.origin, i % 2 === 0 ? 'fast path' : '@Sse helper', 'news', listener, true)),
      ),
    );
    clients.push(...streams);
    await streams[0].waitForEvents(1);
    // Each script numbers a batch of listeners (private `run`: one call per script).
    const scripts = jest.spyOn(a.streams.history as unknown as { run: (batch: unknown[]) => void }, 'run');
    for (let n = 1; n <= 3; n++) {
      await a.api.post('/channels/news/broadcast').send({ type: 'all', payload: n }).expect(202);
    }
    const received = await Promise.all(streams.map((stream, i) => stream.waitForEvents(i === 0 ? 4 : 3)));
    const batches = scripts.mock.calls.map(([batch]) => batch.length);
    expect(batches.reduce((sum, n) => sum + n, 0)).toBe(60);
    expect(batches.length).toBeLessThanOrEqual(6); // one per broadcast when every stream wakes in the same tick
    expect(received[0].map((e) => e.id)).toEqual(['1', '2', '3', '4']);
    for (const events of received.slice(1))
      expect(summary(events)).toEqual([1, 2, 3].map((n) => ['all', `${n}`, `${n}`]));
  });

  it('history: false numbers nothing in Redis: no ids, no event-id or history keys, and a resume gets only the queue', async () => {
    const [a, b] = await instances(2, { history: false });
    expect(a.streams.history).toBeUndefined();
    const listener = await addListener(a.api, 'news');
    const first = await SseTestClient.open(streamUrl(a.origin, 'fast path', 'news', listener, true));
    clients.push(first);
    await dispatchAll(a.api, 'news', listener, ['e1', 'e2']);
    expect(summary(await first.waitForEvents(2))).toEqual([
      ['e1', 'e1', undefined],
      ['e2', 'e2', undefined],
    ]);
    const gone = stopped(a.container.get('news').getListener(listener));
    first.close();
    await gone;
    await dispatchAll(a.api, 'news', listener, ['e3']);
    const resumed = await SseTestClient.open(streamUrl(b.origin, 'fast path', 'news', listener, true), {
      'Last-Event-ID': '1',
    });
    clients.push(resumed);
    expect(summary(await resumed.waitForEvents(1))).toEqual([['e3', 'e3', undefined]]);
    const { backend } = a.app.get<RedisChannelRepository>(ERIC_SSE_CHANNEL_REPOSITORY);
    expect(
      await backend.client.exists(backend.keys.eventId('news', listener), backend.keys.history('news', listener)),
    ).toBe(0);
    expect(await backend.client.keys(`${backend.keys.framePrefix}*`)).toEqual([]);
  });
});
