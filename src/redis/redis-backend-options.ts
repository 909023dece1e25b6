import type { RedisOptions } from 'ioredis';
import { InvalidConfigurationException } from '../core/errors.js';
import {
  resolveIdempotencyOptions,
  type IdempotencyOptions,
  type ResolvedIdempotencyOptions,
} from '../core/idempotency.js';
import { resolveBound, resolveOverflowPolicy, type QueueOverflowPolicy } from '../core/limits.js';
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
  /** Bounds enforced in Redis (atomically, for every process). Default: none. */
  limits?: RedisBackendLimits;
  /**
   * Records in Redis when each listener was last streamed, for an `IdleListenerReaper` given
   * `backend.idleListeners` as its store. Default false.
   */
  trackIdleListeners?: boolean;
  /**
   * How long, and how many per channel, idempotency keys are remembered in Redis (see `PublishOptions`).
   * Default `{ windowMilliseconds: 300000, maxKeys: 100000 }`. Give every process the same.
   */
  idempotency?: IdempotencyOptions;
}

/** Each bound is optional; 0 or absent means none. */
export interface RedisBackendLimits {
  /** Most messages one listener's queue holds. */
  maxQueueSize?: number;
  /** What a full queue does (see `QueueOverflowPolicy`). Default `'drop-oldest'`. */
  queueOverflow?: QueueOverflowPolicy;
  /** Most listeners per channel, counted over every process. */
  maxListenersPerChannel?: number;
  /** Most channels, counted over every process. */
  maxChannels?: number;
  /** Largest message payload, in bytes of its JSON encoding. */
  maxPayloadBytes?: number;
}

/** `RedisBackendLimits` validated: `Infinity` where there is no bound. */
export interface ResolvedRedisBackendLimits {
  maxQueueSize: number;
  queueOverflow: QueueOverflowPolicy;
  maxListenersPerChannel: number;
  maxChannels: number;
  maxPayloadBytes: number;
}

export interface ResolvedRedisBackendOptions {
  redis: string | RedisOptions;
  keyPrefix: string;
  listenerRegistry: ListenerRegistry;
  limits: ResolvedRedisBackendLimits;
  trackIdleListeners: boolean;
  idempotency: ResolvedIdempotencyOptions;
}

const LIMIT_KEYS = ['maxQueueSize', 'queueOverflow', 'maxListenersPerChannel', 'maxChannels', 'maxPayloadBytes'];

/** Validates the options; a bad one is an `InvalidConfigurationException` naming it. */
export function resolveRedisBackendOptions(options: RedisBackendOptions): ResolvedRedisBackendOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidConfigurationException('Redis backend options must be an object with a redis URL or options');
  }
  return {
    redis: resolveRedisConnection(options.redis, 'redis'),
    keyPrefix: assertNonEmptyString(options.keyPrefix ?? DEFAULT_KEY_PREFIX, 'keyPrefix'),
    listenerRegistry: options.listenerRegistry ?? defaultListenerRegistry,
    limits: resolveRedisLimits(options.limits),
    trackIdleListeners: resolveFlag(options.trackIdleListeners, 'trackIdleListeners'),
    idempotency: resolveIdempotencyOptions(options.idempotency),
  };
}

function resolveRedisLimits(limits: unknown): ResolvedRedisBackendLimits {
  if (limits === undefined) limits = {};
  if (typeof limits !== 'object' || limits === null || Array.isArray(limits)) {
    throw new InvalidConfigurationException(`limits must be an object, got ${JSON.stringify(limits)}`);
  }
  const given = limits as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!LIMIT_KEYS.includes(key)) {
      throw new InvalidConfigurationException(
        `limits.${key} is not a Redis backend limit (known: ${LIMIT_KEYS.join(', ')})`,
      );
    }
  }
  return {
    maxQueueSize: resolveBound(given.maxQueueSize, 'limits.maxQueueSize'),
    queueOverflow: resolveOverflowPolicy(given.queueOverflow, 'limits.queueOverflow'),
    maxListenersPerChannel: resolveBound(given.maxListenersPerChannel, 'limits.maxListenersPerChannel'),
    maxChannels: resolveBound(given.maxChannels, 'limits.maxChannels'),
    maxPayloadBytes: resolveBound(given.maxPayloadBytes, 'limits.maxPayloadBytes'),
  };
}

function resolveFlag(value: unknown, name: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean')
    throw new InvalidConfigurationException(`${name} must be a boolean, got ${JSON.stringify(value)}`);
  return value;
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
