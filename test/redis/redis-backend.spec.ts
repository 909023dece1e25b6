import { afterEach, describe, expect, it } from '@jest/globals';
import {
  DEFAULT_KEY_PREFIX,
  InvalidConfigurationException,
  RepositoryError,
  connectRedisBackend,
  defaultListenerRegistry,
  resolveRedisBackendOptions,
  type RedisBackendOptions,
} from '../../src/index.js';
import { RedisServer, describeWithRedis } from './redis-server.js';
import { Backends, useRedisServer } from './support.js';

describe('resolveRedisBackendOptions', () => {
  it('takes a URL or ioredis options, with the default key prefix and listener registry', () => {
    expect(resolveRedisBackendOptions({ redis: 'redis://localhost:6379/2' })).toEqual({
      redis: 'redis://localhost:6379/2',
      keyPrefix: DEFAULT_KEY_PREFIX,
      listenerRegistry: defaultListenerRegistry,
      limits: {
        maxQueueSize: Infinity,
        queueOverflow: 'drop-oldest',
        maxListenersPerChannel: Infinity,
        maxChannels: Infinity,
        maxPayloadBytes: Infinity,
      },
      trackIdleListeners: false,
      idempotency: { windowMilliseconds: 300_000, maxKeys: 100_000 },
    });
    expect(resolveRedisBackendOptions({ redis: { host: 'h', port: 1 }, keyPrefix: 'app:' })).toMatchObject({
      redis: { host: 'h', port: 1 },
      keyPrefix: 'app:',
    });
    expect(DEFAULT_KEY_PREFIX).toBe('eric-sse:');
  });

  it.each([
    ['no options', undefined, /must be an object/],
    ['a URL of another scheme', { redis: 'http://localhost' }, /redis must be a redis:\/\/ or rediss:\/\/ URL/],
    ['an array', { redis: [] }, /redis must be a redis:\/\/ URL or an ioredis options object/],
    ['a number', { redis: 6379 }, /redis must be/],
    ["ioredis's own keyPrefix", { redis: { keyPrefix: 'x:' } }, /redis.keyPrefix is not supported/],
    ['an empty keyPrefix', { redis: 'redis://h', keyPrefix: '' }, /keyPrefix must be a non-empty string/],
  ])('refuses %s with InvalidConfigurationException', (_what, options, message) => {
    const resolve = () => resolveRedisBackendOptions(options as unknown as RedisBackendOptions);
    expect(resolve).toThrow(InvalidConfigurationException);
    expect(resolve).toThrow(message);
  });
});

describeWithRedis('connectRedisBackend', () => {
  const redisServer = useRedisServer();
  const backends = new Backends();

  afterEach(async () => {
    await backends.closeAll();
  });

  it('uses two connections, whatever the number of channels and listeners', async () => {
    const backend = await backends.connect(redisServer.url, 'conn-count:');
    for (let i = 0; i < 5; i++) {
      const channel = backend.channelRepository.create({});
      await backend.channelRepository.add(channel);
      for (let j = 0; j < 5; j++) {
        const listener = await channel.addListener();
        (await channel.resolveConnection(listener.id)).queue.onReady(() => undefined);
      }
    }
    const list = await backend.client.client('LIST');
    const ours = String(list)
      .split('\n')
      .filter((line) => /name=eric-sse-/.test(line));
    expect(ours.map((line) => /name=(\S+)/.exec(line)?.[1]).sort()).toEqual(['eric-sse-commands', 'eric-sse-pubsub']);
  });

  it('closes cleanly, more than once', async () => {
    const backend = await connectRedisBackend({ redis: redisServer.url });
    expect(backend.keyPrefix).toBe('eric-sse:');
    await backend.close();
    await backend.close();
    expect(backend.isClosed).toBe(true);
    expect(backend.client.status).toBe('end');
    expect(backend.subscriber.status).toBe('end');
  });

  it('rejects with RepositoryError when Redis cannot be reached', async () => {
    const stopped = await RedisServer.start();
    const url = stopped.url;
    await stopped.dispose();
    await expect(connectRedisBackend({ redis: url })).rejects.toThrow(RepositoryError);
    await expect(connectRedisBackend({ redis: url })).rejects.toThrow(/Cannot connect to Redis/);
  });
});
