import type { RedisOptions } from 'ioredis';
import { InvalidConfigurationException } from '../core/errors.js';
import { assertNonEmptyString } from '../core/validate.js';
import { defaultListenerRegistry, type ListenerRegistry } from '../persistence/listener-registry.js';

export const DEFAULT_KEY_PREFIX = 'eric-sse:';

export interface RedisBackendOptions {
  /** A `redis://` / `rediss://` URL, or ioredis options (host, port, password, tls, sentinels...). */
  redis: string | RedisOptions;
  /** Starts every key and pub/sub channel of the backend. Default `'eric-sse:'`. */
  keyPrefix?: string;
  /** Maps stored listener type names to classes. Default: `defaultListenerRegistry`. */
  listenerRegistry?: ListenerRegistry;
}

export interface ResolvedRedisBackendOptions {
  redis: string | RedisOptions;
  keyPrefix: string;
  listenerRegistry: ListenerRegistry;
}

/** Validates the options; a bad one is an `InvalidConfigurationException` naming it. */
export function resolveRedisBackendOptions(options: RedisBackendOptions): ResolvedRedisBackendOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidConfigurationException('Redis backend options must be an object with a redis URL or options');
  }
  return {
    redis: resolveRedisConnection(options.redis, 'redis'),
    keyPrefix: assertNonEmptyString(options.keyPrefix ?? DEFAULT_KEY_PREFIX, 'keyPrefix'),
    listenerRegistry: options.listenerRegistry ?? defaultListenerRegistry,
  };
}

/** A URL or a plain ioredis options object; ioredis's own `keyPrefix` is refused (it would miss pub/sub and scripts). */
export function resolveRedisConnection(redis: unknown, name: string): string | RedisOptions {
  if (typeof redis === 'string') {
    if (!/^rediss?:\/\/\S*$/.test(redis)) {
      throw new InvalidConfigurationException(
        `${name} must be a redis:// or rediss:// URL, got ${JSON.stringify(redis)}`,
      );
    }
    return redis;
  }
  if (typeof redis !== 'object' || redis === null || Array.isArray(redis)) {
    throw new InvalidConfigurationException(
      `${name} must be a redis:// URL or an ioredis options object, got ${JSON.stringify(redis) ?? String(redis)}`,
    );
  }
  if ('keyPrefix' in redis) {
    throw new InvalidConfigurationException(
      `${name}.keyPrefix is not supported (ioredis would not prefix pub/sub channels or keys built in scripts); ` +
        `give eric-sse's own keyPrefix option instead`,
    );
  }
  return redis as RedisOptions;
}
