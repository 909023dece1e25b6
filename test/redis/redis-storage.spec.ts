import { afterEach, describe, expect, it } from '@jest/globals';
import {
  ConnectionRepository,
  InMemoryConnectionsFactory,
  InMemoryQueue,
  InvalidConfigurationException,
  ItemNotFound,
  KvListenerRepository,
  KvQueueRepository,
  Message,
  PrefixedStorage,
  RedisStorage,
  RepositoryError,
  SSEChannel,
  SSEChannelRepository,
  type RedisBackend,
} from '../../src/index.js';
import { describeWithRedis } from './redis-server.js';
import { Backends, uniquePrefix, useRedisServer } from './support.js';

describeWithRedis('RedisStorage', () => {
  const redisServer = useRedisServer();
  const backends = new Backends();
  let backend: RedisBackend;

  afterEach(async () => {
    await backends.closeAll();
  });

  async function storage(namespace?: string): Promise<RedisStorage> {
    backend = await backends.connect(redisServer.url, uniquePrefix());
    return backend.storage(namespace);
  }

  it('stores JSON values and reads them back', async () => {
    const kv = await storage();
    await kv.upsert('a', { n: 1, list: [1, 'two', null] });
    expect(await kv.fetchOne('a')).toEqual({ n: 1, list: [1, 'two', null] });
  });

  it('rejects a missing key with ItemNotFound, a RepositoryError', async () => {
    const kv = await storage();
    const failure = kv.fetchOne('nope');
    await expect(failure).rejects.toBeInstanceOf(ItemNotFound);
    await expect(failure).rejects.toBeInstanceOf(RepositoryError);
  });

  it('keeps insertion order, a replaced key keeping its place', async () => {
    const kv = await storage();
    await kv.upsert('b', 1);
    await kv.upsert('a', 2);
    await kv.upsert('c', 3);
    await kv.upsert('b', 4);
    expect(await kv.fetchAll()).toEqual([4, 2, 3]);
  });

  it('fetches by prefix, in insertion order', async () => {
    const kv = await storage();
    await kv.upsert('x:2', 'second');
    await kv.upsert('y:1', 'other');
    await kv.upsert('x:1', 'third');
    expect(await kv.fetchByPrefix('x:')).toEqual(['second', 'third']);
    expect(await kv.fetchByPrefix('z')).toEqual([]);
  });

  it('deletes, and deleting a missing key is not an error', async () => {
    const kv = await storage();
    await kv.upsert('a', 1);
    await kv.delete('a');
    await kv.delete('a');
    await expect(kv.fetchOne('a')).rejects.toBeInstanceOf(ItemNotFound);
    expect(await kv.fetchAll()).toEqual([]);
    await kv.upsert('a', 2);
    expect(await kv.fetchAll()).toEqual([2]);
  });

  it('refuses a value that is not JSON, leaving the stored one', async () => {
    const kv = await storage();
    await kv.upsert('a', 1);
    await expect(kv.upsert('a', 10n)).rejects.toThrow(RepositoryError);
    await expect(kv.upsert('a', undefined)).rejects.toThrow(/not JSON-compatible/);
    expect(await kv.fetchOne('a')).toBe(1);
  });

  it('keeps namespaces and key prefixes apart', async () => {
    const kv = await storage('one');
    const other = backend.storage('two');
    const elsewhere = (await backends.connect(redisServer.url, uniquePrefix())).storage('one');
    await kv.upsert('k', 'one');
    await other.upsert('k', 'two');
    await elsewhere.upsert('k', 'elsewhere');
    expect(await kv.fetchAll()).toEqual(['one']);
    expect(await other.fetchAll()).toEqual(['two']);
    expect(await elsewhere.fetchAll()).toEqual(['elsewhere']);
  });

  it('refuses an empty namespace', async () => {
    await storage();
    expect(() => backend.storage('')).toThrow(InvalidConfigurationException);
  });

  it('fails with RepositoryError once its backend is closed', async () => {
    const kv = await storage();
    await backend.close();
    await expect(kv.upsert('a', 1)).rejects.toThrow(RepositoryError);
    await expect(kv.fetchOne('a')).rejects.toThrow(/Redis is unavailable/);
  });

  describe('under the generic repositories', () => {
    it('persists a channel whose listeners and pending messages a fresh process loads back', async () => {
      const prefix = uniquePrefix();
      const repositoriesOver = (redis: RedisBackend): SSEChannelRepository => {
        const kv = redis.storage('persistence');
        const view = (p: string) => new PrefixedStorage(kv, p);
        const connections = new ConnectionRepository(
          view('connections:'),
          new KvListenerRepository(view('listeners:')),
          new KvQueueRepository(view('queues:')),
        );
        return new SSEChannelRepository(view('channels:'), connections, new InMemoryConnectionsFactory());
      };
      const first = repositoriesOver(await backends.connect(redisServer.url, prefix));
      const channel = new SSEChannel({ channelId: 'news', retryTimeoutMilliseconds: 7 });
      const listener = await channel.addListener();
      await channel.dispatch(listener.id, new Message('pending', { n: 1 }));
      await first.persist(channel);

      const loaded = await repositoriesOver(await backends.connect(redisServer.url, prefix)).loadOne('news');
      expect(loaded.retryTimeoutMilliseconds).toBe(7);
      expect(loaded.getConnections().map((c) => c.listener.id)).toEqual([listener.id]);
      const queue = loaded.getConnection(listener.id).queue as InMemoryQueue;
      expect(queue.peekAll()).toEqual([new Message('pending', { n: 1 })]);
    });
  });
});
