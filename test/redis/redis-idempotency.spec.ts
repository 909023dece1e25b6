import { afterEach, describe, expect, it } from '@jest/globals';
import {
  ChannelContainer,
  InvalidConfigurationException,
  InvalidListenerException,
  InvalidMessageFormat,
  Message,
  MessageQueueListener,
  MessageTooLargeException,
  QueueFullException,
  RepositoryError,
  connectRedisBackend,
  type PublishOptions,
  type RedisBackend,
  type RedisBackendOptions,
  type RedisChannel,
  type RedisQueue,
  type SSEEvent,
} from '../../src/index.js';
import { startRestApp, type RestApp } from '../rest/support.js';
import { describeWithRedis } from './redis-server.js';
import { Backends, uniquePrefix, until, useRedisServer } from './support.js';

describeWithRedis('Idempotent publishing on Redis', () => {
  const redisServer = useRedisServer();
  const backends = new Backends();
  let a: RedisBackend;
  let b: RedisBackend;
  let prefix: string;

  afterEach(async () => {
    await backends.closeAll();
  });

  /** Two processes' backends on one Redis and prefix. */
  async function twoProcesses(options: Partial<RedisBackendOptions> = {}): Promise<void> {
    prefix = uniquePrefix();
    a = await backends.connect(redisServer.url, prefix, options);
    b = await backends.connect(redisServer.url, prefix, options);
  }

  /** A channel made on `a` with listeners `ids`, and the same channel as `b` loads it. */
  async function channelWith(ids: string[], channelId = 'news'): Promise<[RedisChannel, RedisChannel]> {
    const channel = a.channelRepository.create({ channelId });
    await a.channelRepository.add(channel);
    for (const id of ids) await channel.registerListener(new MessageQueueListener(id));
    return [channel, await b.channelRepository.loadOne(channelId)];
  }

  async function queued(listenerId: string, channelId = 'news'): Promise<string[]> {
    const texts = await a.client.lrange(a.keys.queue(channelId, listenerId), 0, -1);
    return texts.map((text) => (JSON.parse(text) as { type: string }).type);
  }

  function idempotencyKeys(): Promise<string[]> {
    return a.client.keys(`${prefix}idem*`);
  }

  it('queues a retried dispatch once, on whichever process, and answers it as the first', async () => {
    await twoProcesses();
    const [onA, onB] = await channelWith(['alice']);
    const replays: string[] = [];
    const options: PublishOptions = { idempotencyKey: 'order-1', onReplay: () => replays.push('replay') };
    await expect(onA.dispatch('alice', new Message('paid'), options)).resolves.toBeUndefined();
    await expect(onB.dispatch('alice', new Message('paid'), options)).resolves.toBeUndefined();
    await expect(onA.dispatch('alice', new Message('paid'), options)).resolves.toBeUndefined();
    expect(await queued('alice')).toEqual(['paid']);
    expect(replays).toEqual(['replay', 'replay']);
    expect(await a.client.get(a.keys.idempotency('news', 'order-1'))).toBe('1');
  });

  it("answers a retried broadcastAndCount with the first call's count, queueing nothing for anyone", async () => {
    await twoProcesses();
    const [onA, onB] = await channelWith(['alice', 'bob']);
    expect(await onA.broadcastAndCount(new Message('news'), { idempotencyKey: 'k' })).toBe(2);
    await onB.registerListener(new MessageQueueListener('carol'));
    expect(await onB.broadcastAndCount(new Message('news'), { idempotencyKey: 'k' })).toBe(2);
    await onA.broadcast(new Message('news'), { idempotencyKey: 'k' });
    expect(await queued('alice')).toEqual(['news']);
    expect(await queued('bob')).toEqual(['news']);
    expect(await queued('carol')).toEqual([]);
  });

  it('delivers calls with different keys, and calls without one, every time', async () => {
    await twoProcesses();
    const [onA, onB] = await channelWith(['alice']);
    expect(await onA.broadcastAndCount(new Message('x'), { idempotencyKey: 'k1' })).toBe(1);
    expect(await onB.broadcastAndCount(new Message('x'), { idempotencyKey: 'k2' })).toBe(1);
    await onA.dispatch('alice', new Message('x'), {});
    await onB.dispatch('alice', new Message('x'));
    expect(await queued('alice')).toHaveLength(4);
  });

  it('keeps keys per channel', async () => {
    await twoProcesses();
    const [news] = await channelWith(['alice'], 'news');
    const [talk] = await channelWith(['alice'], 'talk');
    await news.dispatch('alice', new Message('x'), { idempotencyKey: 'k' });
    await talk.dispatch('alice', new Message('x'), { idempotencyKey: 'k' });
    expect(await queued('alice', 'news')).toEqual(['x']);
    expect(await queued('alice', 'talk')).toEqual(['x']);
  });

  it('delivers once when two processes race the same key', async () => {
    await twoProcesses();
    const [onA, onB] = await channelWith(['alice', 'bob']);
    const calls: Promise<number>[] = [];
    for (let i = 0; i < 20; i++) {
      const channel = i % 2 === 0 ? onA : onB;
      calls.push(channel.broadcastAndCount(new Message('once'), { idempotencyKey: 'race' }));
      calls.push(channel.dispatch('alice', new Message('once'), { idempotencyKey: 'race-d' }).then(() => 1));
    }
    expect(new Set(await Promise.all(calls))).toEqual(new Set([2, 1]));
    expect(await queued('alice')).toEqual(['once', 'once']);
    expect(await queued('bob')).toEqual(['once']);
  });

  it('publishes again once the window has passed', async () => {
    await twoProcesses({ idempotency: { windowMilliseconds: 100 } });
    const [onA, onB] = await channelWith(['alice']);
    expect(onA.idempotency.windowMilliseconds).toBe(100);
    await onA.dispatch('alice', new Message('x'), { idempotencyKey: 'k' });
    await onB.dispatch('alice', new Message('x'), { idempotencyKey: 'k' });
    expect(await queued('alice')).toHaveLength(1);
    const key = a.keys.idempotency('news', 'k');
    const ttl = await a.client.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(100);
    while ((await a.client.exists(key)) === 1) await new Promise((resolve) => setTimeout(resolve, 10));
    await onB.dispatch('alice', new Message('x'), { idempotencyKey: 'k' });
    expect(await queued('alice')).toHaveLength(2);
  });

  it('holds at most maxKeys keys per channel, forgetting the oldest', async () => {
    await twoProcesses({ idempotency: { maxKeys: 2 } });
    const [onA] = await channelWith(['alice']);
    for (const key of ['a', 'b', 'c']) await onA.dispatch('alice', new Message(key), { idempotencyKey: key });
    expect(await a.client.zrange(a.keys.idempotencyIndex('news'), '0', '-1')).toEqual(['b', 'c']);
    expect(await idempotencyKeys()).toHaveLength(3); // 'b', 'c' and the index
    await onA.dispatch('alice', new Message('c'), { idempotencyKey: 'c' });
    await onA.dispatch('alice', new Message('a'), { idempotencyKey: 'a' });
    expect(await queued('alice')).toEqual(['a', 'b', 'c', 'a']);
  });

  it('does not record the key of a dispatch or broadcast a full queue refused: the retry publishes', async () => {
    await twoProcesses({ limits: { maxQueueSize: 1, queueOverflow: 'reject' } });
    const [onA, onB] = await channelWith(['alice', 'bob']);
    await onA.dispatch('alice', new Message('first'));
    await expect(onA.dispatch('alice', new Message('second'), { idempotencyKey: 'd' })).rejects.toThrow(
      QueueFullException,
    );
    await expect(onA.broadcastAndCount(new Message('all'), { idempotencyKey: 'b' })).rejects.toThrow(
      QueueFullException,
    );
    expect(await idempotencyKeys()).toEqual([]);
    expect(await queued('bob')).toEqual([]);
    await a.client.del(a.keys.queue('news', 'alice'));
    await onB.dispatch('alice', new Message('second'), { idempotencyKey: 'd' });
    await a.client.del(a.keys.queue('news', 'alice'));
    expect(await onB.broadcastAndCount(new Message('all'), { idempotencyKey: 'b' })).toBe(2);
    expect(await queued('alice')).toEqual(['all']);
    expect(await queued('bob')).toEqual(['all']);
  });

  it('does not record the key of a payload too large, of an unknown listener, nor of a call Redis never ran', async () => {
    await twoProcesses({ limits: { maxPayloadBytes: 10 } });
    const [onA, onB] = await channelWith(['alice']);
    const big = new Message('big', 'x'.repeat(20));
    await expect(onA.broadcast(big, { idempotencyKey: 'k1' })).rejects.toThrow(MessageTooLargeException);
    await expect(onA.dispatch('bob', new Message('x'), { idempotencyKey: 'k2' })).rejects.toThrow(
      InvalidListenerException,
    );
    await a.close();
    await expect(onA.dispatch('alice', new Message('x'), { idempotencyKey: 'k3' })).rejects.toThrow(RepositoryError);
    expect(await b.client.keys(`${prefix}idem*`)).toEqual([]);
    await onB.registerListener(new MessageQueueListener('bob'));
    await onB.broadcast(new Message('small'), { idempotencyKey: 'k1' });
    await onB.dispatch('bob', new Message('x'), { idempotencyKey: 'k2' });
    await onB.dispatch('alice', new Message('x'), { idempotencyKey: 'k3' });
    const count = async (id: string): Promise<number> => b.client.llen(b.keys.queue('news', id));
    expect([await count('alice'), await count('bob')]).toEqual([2, 2]);
  });

  it('refuses bad keys with InvalidMessageFormat before anything reaches Redis', async () => {
    await twoProcesses();
    const [onA] = await channelWith(['alice']);
    for (const key of ['', 'k'.repeat(257), 'a\nb', 42]) {
      const options = { idempotencyKey: key } as PublishOptions;
      await expect(onA.dispatch('alice', new Message('x'), options)).rejects.toThrow(InvalidMessageFormat);
      await expect(onA.broadcast(new Message('x'), options)).rejects.toThrow(InvalidMessageFormat);
      await expect(onA.broadcastAndCount(new Message('x'), options)).rejects.toThrow(InvalidMessageFormat);
    }
    expect(await queued('alice')).toEqual([]);
    expect(await idempotencyKeys()).toEqual([]);
  });

  it("keeps keys apart from the channel's other keys, whatever they hold, and removes them with the channel", async () => {
    await twoProcesses();
    const [onA, onB] = await channelWith(['alice'], 'a:b');
    for (const key of ['plain', 'with:colons', 'queue:a%3Ab:alice', '注文 🧾']) {
      await onA.dispatch('alice', new Message(key), { idempotencyKey: key });
      await onB.dispatch('alice', new Message(key), { idempotencyKey: key });
    }
    expect(await queued('alice', 'a:b')).toEqual(['plain', 'with:colons', 'queue:a%3Ab:alice', '注文 🧾']);
    expect(await idempotencyKeys()).toHaveLength(5);
    expect(await b.channelRepository.remove('a:b')).toBe(true);
    expect((await a.client.keys(`${prefix}*`)).filter((key) => key !== a.keys.seq)).toEqual([]);
    const [again] = await channelWith(['alice'], 'a:b');
    await again.dispatch('alice', new Message('plain'), { idempotencyKey: 'plain' });
    expect(await queued('alice', 'a:b')).toEqual(['plain']);
  });

  it("gives a stream waiting in this process every message once when a replay's script takes nothing", async () => {
    await twoProcesses();
    const [onA] = await channelWith(['alice']);
    const { listener } = onA.getConnection('alice');
    const queue = onA.getConnection('alice').queue as RedisQueue;
    listener.start();
    const complete = a.taker.complete.bind(a.taker);
    const takesOnReplay: number[] = [];
    a.taker.complete = (piggyback, queued, index, texts) => {
      if (index === '') takesOnReplay.push(piggyback.batch.length);
      complete(piggyback, queued, index, texts);
    };
    // Waiting, with no take in flight: the next dispatch or broadcast script takes for it.
    const waitingIdle = (): Promise<void> =>
      until(() => {
        const epoch = queue.beginTake();
        if (epoch !== undefined) queue.takeFailed();
        return epoch !== undefined;
      }, 'the stream to wait with no take in flight');
    const events: string[] = [];
    const reading = (async () => {
      for await (const event of onA.messageStream(listener) as AsyncIterable<SSEEvent>) {
        events.push(event.event);
        if (events.length === 3) return;
      }
    })();
    await waitingIdle();
    await onA.dispatch('alice', new Message('one'), { idempotencyKey: 'd' });
    await until(() => events.length === 1, 'one');
    await waitingIdle();
    await onA.dispatch('alice', new Message('one'), { idempotencyKey: 'd' });
    await waitingIdle();
    await onA.broadcast(new Message('two'), { idempotencyKey: 'b' });
    await until(() => events.length === 2, 'two');
    await waitingIdle();
    await onA.broadcast(new Message('two'), { idempotencyKey: 'b' });
    await waitingIdle();
    await onA.dispatch('alice', new Message('three'));
    await reading;
    expect(events).toEqual(['one', 'two', 'three']);
    expect(takesOnReplay).toEqual([1, 1]);
    expect(await queued('alice')).toEqual([]);
    listener.stop();
  });

  it('refuses bad idempotency options when connecting', async () => {
    await expect(
      connectRedisBackend({ redis: redisServer.url, idempotency: { windowMilliseconds: -1 } }),
    ).rejects.toThrow(InvalidConfigurationException);
    await expect(connectRedisBackend({ redis: redisServer.url, idempotency: { maxKeys: 0 } })).rejects.toThrow(
      'idempotency.maxKeys must be an integer >= 1, got 0',
    );
  });

  describe('over REST, two app instances on one Redis', () => {
    const apps: RestApp[] = [];

    afterEach(async () => {
      await Promise.all(apps.splice(0).map((app) => app.close()));
    });

    async function twoApps(idempotency?: { windowMilliseconds: number }): Promise<[RestApp, RestApp]> {
      prefix = uniquePrefix();
      const module = { redis: redisServer.url, keyPrefix: prefix, rest: {}, channels: [{ id: 'news' }], idempotency };
      for (let i = 0; i < 2; i++) apps.push(await startRestApp({ module }));
      return [apps[0], apps[1]];
    }

    it('delivers once and answers every racing request as the first, on both instances', async () => {
      const [one, two] = await twoApps();
      const listener = (await one.api.post('/channels/news/listeners').expect(201)).body.id as string;
      const requests = [];
      for (let i = 0; i < 10; i++) {
        const { api } = i % 2 === 0 ? one : two;
        requests.push(api.post('/channels/news/broadcast').set('Idempotency-Key', 'race').send({ type: 'once' }));
      }
      const answers = await Promise.all(requests);
      expect(answers.map(({ status, body }) => [status, body])).toEqual(
        Array.from({ length: 10 }, () => [202, { status: 'ack', listeners: 1 }]),
      );
      expect(answers.filter(({ headers }) => headers['idempotent-replayed'] === 'true')).toHaveLength(9);
      const client = one.app.get(ChannelContainer).get('news') as RedisChannel;
      expect(await client.redis.backend.client.llen(client.redis.backend.keys.queue('news', listener))).toBe(1);
    });

    it('gives the module option idempotency to the Redis backend', async () => {
      const [one] = await twoApps({ windowMilliseconds: 1234 });
      const channel = one.app.get(ChannelContainer).get('news') as RedisChannel;
      expect(channel.redis.backend.idempotency).toEqual({ windowMilliseconds: 1234, maxKeys: 100_000 });
      expect(channel.idempotency).toEqual(channel.redis.backend.idempotency);
    });
  });

  describe('defaults', () => {
    it('remembers keys for 5 minutes, at most 100,000 per channel', async () => {
      await twoProcesses();
      expect(a.idempotency).toEqual({ windowMilliseconds: 300_000, maxKeys: 100_000 });
      const [onA] = await channelWith(['alice']);
      expect(onA.idempotency).toEqual(a.idempotency);
      await onA.dispatch('alice', new Message('x'), { idempotencyKey: 'k' });
      const ttl = await a.client.pttl(a.keys.idempotency('news', 'k'));
      expect(ttl).toBeGreaterThan(299_000);
      expect(ttl).toBeLessThanOrEqual(300_000);
    });
  });
});
