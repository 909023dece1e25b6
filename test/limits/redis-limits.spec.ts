import { afterEach, describe, expect, it } from '@jest/globals';
import {
  ChannelContainer,
  IdleListenerReaper,
  InvalidConfigurationException,
  Message,
  MessageTooLargeException,
  QueueFullException,
  RedisQueue,
  SocketServer,
  TooManyChannelsException,
  TooManyListenersException,
  setEricLogger,
  type ListenerRef,
  type RedisBackend,
  type RedisBackendLimits,
  type RedisChannel,
  type RedisChannelRepository,
  type EricSseLimitsOptions,
  ERIC_SSE_CHANNEL_REPOSITORY,
} from '../../src/index.js';
import { startRestApp, type RestApp } from '../rest/support.js';
import { exchangeRaw, tempSocketDir } from '../servers/socket/support.js';
import { PausedSseClient } from './e2e/paused-sse-client.js';
import { describeWithRedis } from '../redis/redis-server.js';
import { Backends, uniquePrefix, until, useRedisServer } from '../redis/support.js';
import { debugLines, types } from './support.js';

describeWithRedis('limits on Redis', () => {
  const redisServer = useRedisServer();
  const backends = new Backends();

  afterEach(async () => {
    setEricLogger();
    await backends.closeAll();
  });

  /** Two processes sharing one Redis and key prefix, with the same limits. */
  async function twoProcesses(
    limits: RedisBackendLimits,
    trackIdleListeners = false,
  ): Promise<[RedisBackend, RedisBackend]> {
    const prefix = uniquePrefix();
    return [
      await backends.connect(redisServer.url, prefix, { limits, trackIdleListeners }),
      await backends.connect(redisServer.url, prefix, { limits, trackIdleListeners }),
    ];
  }

  async function channelOn(backend: RedisBackend, id = 'news'): Promise<RedisChannel> {
    const channel = backend.channelRepository.create({ channelId: id });
    await backend.channelRepository.add(channel);
    return channel;
  }

  /** The messages waiting in Redis for the listener. */
  async function waiting(backend: RedisBackend, channelId: string, listenerId: string): Promise<string[]> {
    return types(await new RedisQueue(backend, channelId, listenerId).peekAll());
  }

  it('refuses bad limits with InvalidConfigurationException naming them', async () => {
    await expect(backends.connect(redisServer.url, uniquePrefix(), { limits: { maxQueueSize: -1 } })).rejects.toThrow(
      'limits.maxQueueSize must be an integer >= 0 (0: no limit), got -1',
    );
    await expect(
      backends.connect(redisServer.url, uniquePrefix(), { limits: { maxSize: 1 } as RedisBackendLimits }),
    ).rejects.toThrow(InvalidConfigurationException);
    await expect(
      backends.connect(redisServer.url, uniquePrefix(), { trackIdleListeners: 'yes' as unknown as boolean }),
    ).rejects.toThrow('trackIdleListeners must be a boolean, got "yes"');
  });

  describe('bounded queues', () => {
    it('drop-oldest: a queue keeps its newest maxQueueSize messages, whichever process queues them', async () => {
      const [a, b] = await twoProcesses({ maxQueueSize: 3 });
      const logged = debugLines();
      const onA = await channelOn(a);
      const listener = await onA.addListener();
      const onB = (await b.channelRepository.load('news')) as RedisChannel;
      for (const type of ['m1', 'm2']) await onA.dispatch(listener.id, new Message(type));
      for (const type of ['m3', 'm4', 'm5']) await onB.broadcast(new Message(type));
      await new RedisQueue(a, 'news', listener.id).push(new Message('m6'));
      expect(await waiting(a, 'news', listener.id)).toEqual(['m4', 'm5', 'm6']);
      expect(logged.filter((line) => line.includes('dropped'))).toHaveLength(3);
    });

    it('reject: a dispatch to a full queue is a QueueFullException naming the listener; Redis is unchanged', async () => {
      const [a, b] = await twoProcesses({ maxQueueSize: 2, queueOverflow: 'reject' });
      const onA = await channelOn(a);
      const listener = await onA.addListener();
      const onB = (await b.channelRepository.load('news')) as RedisChannel;
      await onA.dispatch(listener.id, new Message('a'));
      await onB.dispatch(listener.id, new Message('b'));
      const refused = onB.dispatch(listener.id, new Message('c'));
      await expect(refused).rejects.toThrow(QueueFullException);
      await expect(refused).rejects.toThrow(
        `The queue of listener ${listener.id} is full in channel news (overflow 'reject'): nothing was queued`,
      );
      await expect(new RedisQueue(a, 'news', listener.id).push(new Message('d'))).rejects.toThrow(
        `Queue of listener ${listener.id} of channel news is full (maxQueueSize 2, overflow 'reject')`,
      );
      expect(await waiting(a, 'news', listener.id)).toEqual(['a', 'b']);
    });

    it('reject: a broadcast is all or nothing in one script, naming every full listener', async () => {
      const [a, b] = await twoProcesses({ maxQueueSize: 1, queueOverflow: 'reject' });
      const onA = await channelOn(a);
      const full = await onA.addListener();
      const roomy = await onA.addListener();
      const alsoFull = await onA.addListener();
      await onA.dispatch(full.id, new Message('x'));
      await onA.dispatch(alsoFull.id, new Message('y'));
      const onB = (await b.channelRepository.load('news')) as RedisChannel;
      const error = (await onB.broadcastAndCount(new Message('all')).catch((e: unknown) => e)) as QueueFullException;
      expect(error).toBeInstanceOf(QueueFullException);
      expect([...error.listenerIds].sort()).toEqual([full.id, alsoFull.id].sort());
      expect(await waiting(a, 'news', roomy.id)).toEqual([]);
      expect(await waiting(a, 'news', full.id)).toEqual(['x']);
      // Once the full ones are read, it reaches everyone.
      await new RedisQueue(a, 'news', full.id).pop();
      await new RedisQueue(a, 'news', alsoFull.id).pop();
      await expect(onB.broadcastAndCount(new Message('all'))).resolves.toBe(3);
      expect(await waiting(a, 'news', roomy.id)).toEqual(['all']);
    });

    it('a refused broadcast still serves the streams waiting in the broadcasting process', async () => {
      const [a] = await twoProcesses({ maxQueueSize: 1, queueOverflow: 'reject' });
      const channel = await channelOn(a);
      const full = await channel.addListener();
      const streamed = await channel.addListener();
      await channel.dispatch(full.id, new Message('x'));
      streamed.start();
      const events = channel.messageStream(streamed);
      const first = events.next();
      await expect(channel.broadcast(new Message('all'))).rejects.toThrow(QueueFullException);
      await channel.dispatch(streamed.id, new Message('direct'));
      expect((await first).value).toMatchObject({ event: 'direct' });
      streamed.stop();
      await events.return(undefined);
    });
  });

  it('maxListenersPerChannel counts the listeners of every process; a full channel still resolves its own', async () => {
    const [a, b] = await twoProcesses({ maxListenersPerChannel: 2 });
    const onA = await channelOn(a);
    const first = await onA.addListener();
    const onB = (await b.channelRepository.load('news')) as RedisChannel;
    await onB.addListener();
    expect(onA.maxListeners).toBe(2);
    await expect(onA.addListener()).rejects.toThrow(TooManyListenersException);
    await expect(onB.addListener()).rejects.toThrow('Cannot add a listener to channel news: maxListeners (2) reached');
    expect((await onA.listListenerIds()).length).toBe(2);
    expect((await onB.resolveConnection(first.id)).listener.id).toBe(first.id);
    await onB.removeListener(first.id);
    await onA.addListener();
    expect((await onA.listListenerIds()).length).toBe(2);
  });

  it('maxChannels counts the channels of every process (add, persist, and a container over the store)', async () => {
    const [a, b] = await twoProcesses({ maxChannels: 2 });
    await channelOn(a, 'one');
    await channelOn(b, 'two');
    await expect(channelOn(a, 'three')).rejects.toThrow(TooManyChannelsException);
    await expect(b.channelRepository.persist(b.channelRepository.create({ channelId: 'three' }))).rejects.toThrow(
      'Cannot add a channel: maxChannels (2) reached',
    );
    const container = new ChannelContainer(b.channelRepository);
    await expect(container.add(b.channelRepository.create({ channelId: 'three' }))).rejects.toThrow(
      TooManyChannelsException,
    );
    expect(await container.listIds()).toEqual(['one', 'two']);
    expect(container.has('three')).toBe(false);
    // An existing channel is still persisted, and a removal makes room.
    await b.channelRepository.persist((await b.channelRepository.load('two')) as RedisChannel);
    await a.channelRepository.remove('one');
    await container.add(b.channelRepository.create({ channelId: 'three' }));
    expect(await container.listIds()).toEqual(['two', 'three']);
  });

  it('maxPayloadBytes refuses a dispatch or broadcast before anything reaches Redis', async () => {
    const [a] = await twoProcesses({ maxPayloadBytes: 8 });
    const channel = await channelOn(a);
    const listener = await channel.addListener();
    const big = new Message('big', 'much too long');
    await expect(channel.dispatch(listener.id, big)).rejects.toThrow(MessageTooLargeException);
    await expect(channel.broadcast(big)).rejects.toThrow(
      "The payload of message 'big' is 15 bytes as JSON, over maxPayloadBytes (8) of channel news",
    );
    await channel.broadcast(new Message('small', 'ok'));
    expect(await waiting(a, 'news', listener.id)).toEqual(['small']);
  });

  it('the socket protocol answers the limit errors of a Redis container as ClassName(message)', async () => {
    const [a] = await twoProcesses({
      maxQueueSize: 1,
      queueOverflow: 'reject',
      maxListenersPerChannel: 1,
      maxChannels: 1,
    });
    const dir = await tempSocketDir();
    const socket = await SocketServer.start(dir.path(), {
      container: new ChannelContainer(a.channelRepository),
      createChannel: () => a.channelRepository.create({}),
    });
    try {
      const path = dir.path();
      const channel = await exchangeRaw(path, '{"v":"c"}');
      expect(await exchangeRaw(path, '{"v":"c"}')).toBe(
        "TooManyChannelsException('Cannot add a channel: maxChannels (1) reached')",
      );
      const listener = await exchangeRaw(path, JSON.stringify({ v: 'r', c: channel }));
      expect(await exchangeRaw(path, JSON.stringify({ v: 'r', c: channel }))).toBe(
        `TooManyListenersException('Cannot add a listener to channel ${channel}: maxListeners (1) reached')`,
      );
      expect(await exchangeRaw(path, JSON.stringify({ v: 'b', c: channel, t: 'one' }))).toBe('ack');
      expect(await exchangeRaw(path, JSON.stringify({ v: 'b', c: channel, t: 'two' }))).toBe(
        `QueueFullException("The queue of listener ${listener} is full in channel ${channel} (overflow 'reject'): nothing was queued")`,
      );
      expect(await waiting(a, channel, listener)).toEqual(['one']);
    } finally {
      await socket.shutdown();
      await dir.remove();
    }
  });

  describe('idle listeners', () => {
    const TIMEOUT_MS = 400;
    let reapers: IdleListenerReaper[] = [];

    afterEach(async () => {
      await Promise.all(reapers.map((reaper) => reaper.stop()));
      reapers = [];
    });

    function reaperOn(backend: RedisBackend): { reaper: IdleListenerReaper; container: ChannelContainer } {
      const container = new ChannelContainer(backend.channelRepository);
      const reaper = new IdleListenerReaper(container, {
        idleTimeoutMilliseconds: TIMEOUT_MS,
        store: backend.idleListeners,
      });
      reapers.push(reaper);
      reaper.start();
      return { reaper, container };
    }

    /** Resolves with the next listener any of the reapers removes. */
    function nextReaped(...of: IdleListenerReaper[]): Promise<ListenerRef> {
      return new Promise((resolve) => {
        const cancels = of.map((reaper) =>
          reaper.onReaped((listener) => {
            for (const cancel of cancels) cancel();
            resolve(listener);
          }),
        );
      });
    }

    it('are removed once, by one process, with their queues; a listener streamed in another process is kept', async () => {
      const [a, b] = await twoProcesses({}, true);
      const onA = reaperOn(a);
      const onB = reaperOn(b);
      const channel = a.channelRepository.create({ channelId: 'news' });
      await onA.container.add(channel);
      const idle = await channel.addListener();
      const streamed = await channel.addListener();
      await channel.dispatch(idle.id, new Message('never read'));
      // Streamed in B: A holds it too, idle there, which must not count.
      const inB = await (await onB.container.resolve('news')).resolveConnection(streamed.id);
      inB.listener.start();

      const removed: ListenerRef[] = [];
      for (const reaper of [onA.reaper, onB.reaper]) reaper.onReaped((listener) => removed.push(listener));
      await expect(nextReaped(onA.reaper, onB.reaper)).resolves.toEqual({ channelId: 'news', listenerId: idle.id });
      expect(await a.client.exists(a.keys.queue('news', idle.id))).toBe(0);
      await until(() => !channel.hasListener(idle.id), 'process A to forget the removed listener');
      await expect(channel.dispatch(idle.id, new Message('late'))).rejects.toThrow(/No listener/);

      // A listener made now is removed a timeout later; by then `streamed` was streamed for two timeouts.
      const later = await channel.addListener();
      await expect(nextReaped(onA.reaper, onB.reaper)).resolves.toEqual({ channelId: 'news', listenerId: later.id });
      expect(await channel.listListenerIds()).toEqual([streamed.id]);
      expect(removed.map((ref) => ref.listenerId)).toEqual([idle.id, later.id]); // each once, by one process

      // Its client leaves: removed a timeout later, in both processes.
      inB.listener.stop();
      await expect(nextReaped(onA.reaper, onB.reaper)).resolves.toEqual({
        channelId: 'news',
        listenerId: streamed.id,
      });
      await until(
        () => !channel.hasListener(streamed.id) && !onB.container.get('news').hasListener(streamed.id),
        'both processes to forget it',
      );
      expect(await channel.listListenerIds()).toEqual([]);
    }, 20_000);

    it('without trackIdleListeners the backend has no store', async () => {
      const [a] = await twoProcesses({});
      expect(a.idleListeners).toBeUndefined();
    });
  });

  describe('through the module', () => {
    let app: RestApp | undefined;

    let client: PausedSseClient | undefined;

    afterEach(async () => {
      client?.close();
      client = undefined;
      await app?.close();
      app = undefined;
    });

    async function restApp(limits: EricSseLimitsOptions): Promise<RestApp> {
      app = await startRestApp({ module: { redis: redisServer.url, keyPrefix: uniquePrefix(), rest: {}, limits } });
      return app;
    }

    it('answers 429, 409 and 413 with the named errors, the limits enforced in Redis', async () => {
      const { api } = await restApp({
        maxQueueSize: 1,
        queueOverflow: 'reject',
        maxListenersPerChannel: 1,
        maxChannels: 2,
        maxPayloadBytes: 16,
      });
      await api.post('/channels').send({ id: 'news' }).expect(201);
      await api.post('/channels').send({ id: 'more' }).expect(409, {
        statusCode: 409,
        error: 'TooManyChannelsException',
        message: 'Cannot add a channel: maxChannels (2) reached',
      });
      const listener = (await api.post('/channels/news/listeners').expect(201)).body.id as string;
      const second = await api.post('/channels/news/listeners');
      expect(second.status).toBe(409);
      expect(second.body.error).toBe('TooManyListenersException');
      await api.post('/channels/news/broadcast').send({ type: 'first' }).expect(202, { status: 'ack', listeners: 1 });
      await api
        .post(`/channels/news/listeners/${listener}/messages`)
        .send({ type: 'second' })
        .expect(429, {
          statusCode: 429,
          error: 'QueueFullException',
          message: `The queue of listener ${listener} is full in channel news (overflow 'reject'): nothing was queued`,
        });
      const big = await api.post('/channels/news/broadcast').send({ type: 'big', payload: 'x'.repeat(20) });
      expect(big.status).toBe(413);
      expect(big.body).toMatchObject({ statusCode: 413, error: 'MessageTooLargeException' });
      const repository = app?.app.get<RedisChannelRepository>(ERIC_SSE_CHANNEL_REPOSITORY) as RedisChannelRepository;
      expect(await waiting(repository.backend, 'news', listener)).toEqual(['first']);
    });

    it('a client that stops reading: with maxQueueSize 100 and drop-oldest its queue in Redis stays at 100', async () => {
      const { api, baseUrl, container } = await restApp({ maxQueueSize: 100 });
      await api.post('/channels').send({ id: 'feed' }).expect(201);
      const listener = (await api.post('/channels/feed/listeners').expect(201)).body.id as string;
      client = await PausedSseClient.open(`${baseUrl}/channels/feed/listeners/${listener}/stream`);
      const channel = await container.resolve('feed');
      for (let n = 1; n <= 3000; n++) {
        // 12 MB in all: more than the socket buffers take.
        await channel.broadcast(new Message('tick', { n, text: String(n).padEnd(4000, '.') }));
        if (n % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      const repository = app?.app.get<RedisChannelRepository>(ERIC_SSE_CHANNEL_REPOSITORY) as RedisChannelRepository;
      expect(await new RedisQueue(repository.backend, 'feed', listener).length()).toBe(100);
      client.resume();
      await client.waitFor(3000);
      const { received } = client;
      expect(received.every((n, i) => i === 0 || n > received[i - 1])).toBe(true);
      expect(received.slice(-100)).toEqual(Array.from({ length: 100 }, (_, i) => 2901 + i));
    });

    it('removes listeners nobody streams, recorded in Redis', async () => {
      const { api, app: nest } = await restApp({ idleListenerTimeoutMilliseconds: 300 });
      await api.post('/channels').send({ id: 'news' }).expect(201);
      const listener = (await api.post('/channels/news/listeners').expect(201)).body.id as string;
      const reaper = nest.get(IdleListenerReaper);
      await expect(new Promise((resolve) => reaper.onReaped(resolve))).resolves.toEqual({
        channelId: 'news',
        listenerId: listener,
      });
      await api.get('/channels/news/listeners').expect(200, { ids: [] });
    });
  });
});
