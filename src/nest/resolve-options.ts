import { InvalidConfigurationException } from '../core/errors.js';
import { resolveIdempotencyOptions } from '../core/idempotency.js';
import { assertInteger, assertNonEmptyString, assertNonNegativeNumber } from '../core/validate.js';
import { DEFAULT_KEY_PREFIX, resolveRedisConnection } from '../redis/redis-backend-options.js';
import { resolveSseHistoryOptions, type ResolvedSseHistoryOptions } from '../sse/sse-history.js';
import { DEFAULT_KEEP_ALIVE_MILLISECONDS } from '../sse/sse-response.js';
import { DEFAULT_ON_MESSAGE_CHANNEL, DEFAULT_REST_BODY_LIMIT, DEFAULT_REST_PATH } from './constants.js';
import { resolveLimits } from './resolve-limits.js';
import type {
  ResolvedEricSseChannelOptions,
  ResolvedEricSseOptions,
  ResolvedEricSseRestOptions,
} from './eric-sse-module-options.js';

/** The options that shape the module itself, known when `forRoot`/`forRootAsync` is called. */
export interface EricSseModuleStructure {
  global: boolean;
  rest: false | ResolvedEricSseRestOptions;
}

// A backend adds its keys here and in `createEricSseBackend`.
const OPTION_KEYS = [
  'channels',
  'onMessageChannel',
  'connectionsFactory',
  'storage',
  'redis',
  'keyPrefix',
  'history',
  'keepAliveMilliseconds',
  'limits',
  'idempotency',
  'rest',
  'global',
];
const STRUCTURAL_KEYS = ['rest', 'global'];
const CHANNEL_KEYS = ['id', 'streamDelaySeconds', 'retryTimeoutMilliseconds'];
const REST_KEYS = ['path', 'guards', 'bodyLimit'];
const HISTORY_KEYS = ['maxEvents', 'maxAgeMilliseconds'];
const KV_STORAGE_METHODS = ['fetchByPrefix', 'fetchAll', 'upsert', 'fetchOne', 'delete'];

/** Validates `global` and `rest`; throws `InvalidConfigurationException` naming the bad option. */
export function resolveModuleStructure(options: { global?: unknown; rest?: unknown }): EricSseModuleStructure {
  const global = options.global ?? true;
  if (typeof global !== 'boolean') throw invalid(`global must be a boolean, got ${describe(global)}`);
  return { global, rest: resolveRest(options.rest) };
}

/**
 * Validates options and fills in defaults; throws `InvalidConfigurationException` naming the bad
 * option. `structure` comes from `resolveModuleStructure`; `fromFactory` rejects the structural keys,
 * which a `forRootAsync` factory cannot change.
 */
export function resolveEricSseOptions(
  options: unknown,
  structure: EricSseModuleStructure,
  fromFactory = false,
): ResolvedEricSseOptions {
  const source = fromFactory ? 'useFactory result' : 'options';
  if (options === undefined) options = {};
  if (!isPlainObject(options)) throw invalid(`${source} must be an object, got ${describe(options)}`);
  assertKnownKeys(options, OPTION_KEYS, '');
  if (fromFactory) {
    for (const key of STRUCTURAL_KEYS) {
      if (key in options) {
        throw invalid(`${key} shapes the module, so it is given to forRootAsync itself, not returned by useFactory`);
      }
    }
  }
  const channels = resolveChannels(options.channels);
  const onMessageChannel = assertNonEmptyString(
    options.onMessageChannel ?? DEFAULT_ON_MESSAGE_CHANNEL,
    'onMessageChannel',
  );
  return {
    channels,
    onMessageChannel,
    connectionsFactory: resolveConnectionsFactory(options.connectionsFactory),
    storage: resolveStorage(options.storage),
    redis: resolveRedis(options),
    history: resolveHistory(options.history),
    keepAliveMilliseconds: assertNonNegativeNumber(
      options.keepAliveMilliseconds ?? DEFAULT_KEEP_ALIVE_MILLISECONDS,
      'keepAliveMilliseconds',
    ),
    limits: resolveLimits(options.limits, {
      channelCount: channels.length + (channels.some(({ id }) => id === onMessageChannel) ? 0 : 1),
      customConnectionsFactory: options.connectionsFactory !== undefined,
    }),
    idempotency: resolveIdempotencyOptions(options.idempotency),
    ...structure,
  };
}

function resolveChannels(channels: unknown): ResolvedEricSseChannelOptions[] {
  if (channels === undefined) return [];
  if (!Array.isArray(channels)) throw invalid(`channels must be an array, got ${describe(channels)}`);
  const firstIndexById = new Map<string, number>();
  return channels.map((channel: unknown, index) => {
    const name = `channels[${index}]`;
    if (!isPlainObject(channel)) throw invalid(`${name} must be an object, got ${describe(channel)}`);
    assertKnownKeys(channel, CHANNEL_KEYS, `${name}.`);
    const id = assertNonEmptyString(channel.id, `${name}.id`);
    const first = firstIndexById.get(id);
    if (first !== undefined) throw invalid(`${name}.id '${id}' duplicates channels[${first}].id`);
    firstIndexById.set(id, index);
    return {
      id,
      streamDelaySeconds: assertNonNegativeNumber(channel.streamDelaySeconds ?? 0, `${name}.streamDelaySeconds`),
      retryTimeoutMilliseconds: assertNonNegativeNumber(
        channel.retryTimeoutMilliseconds ?? 5,
        `${name}.retryTimeoutMilliseconds`,
      ),
    };
  });
}

function resolveConnectionsFactory(factory: unknown): ResolvedEricSseOptions['connectionsFactory'] {
  if (factory === undefined) return undefined;
  if (!hasMethods(factory, ['create'])) {
    throw invalid(
      `connectionsFactory must be a ConnectionsFactory (an object with create()), got ${describe(factory)}`,
    );
  }
  return factory as ResolvedEricSseOptions['connectionsFactory'];
}

function resolveStorage(storage: unknown): ResolvedEricSseOptions['storage'] {
  if (storage === undefined) return undefined;
  const missing = KV_STORAGE_METHODS.filter((method) => !hasMethods(storage, [method]));
  if (missing.length > 0) {
    throw invalid(
      `storage must be a KvStorage (${KV_STORAGE_METHODS.join(', ')}); missing ${missing.join(', ')} in ${describe(storage)}`,
    );
  }
  return storage as ResolvedEricSseOptions['storage'];
}

function resolveRedis(options: Record<string, unknown>): ResolvedEricSseOptions['redis'] {
  if (options.redis === undefined) {
    if (options.keyPrefix !== undefined) throw invalid('keyPrefix is a Redis setting: give it with redis');
    return undefined;
  }
  for (const key of ['storage', 'connectionsFactory']) {
    if (options[key] !== undefined) {
      throw invalid(
        `redis and ${key} cannot be given together: with redis, Redis holds channels, listeners and queues`,
      );
    }
  }
  return {
    connection: resolveRedisConnection(options.redis, 'redis'),
    keyPrefix: assertNonEmptyString(options.keyPrefix ?? DEFAULT_KEY_PREFIX, 'keyPrefix'),
  };
}

function resolveHistory(history: unknown): ResolvedSseHistoryOptions | false {
  if (history === undefined) return resolveSseHistoryOptions();
  if (history === false) return false;
  if (!isPlainObject(history)) throw invalid(`history must be false or an object, got ${describe(history)}`);
  assertKnownKeys(history, HISTORY_KEYS, 'history.');
  return resolveSseHistoryOptions(history);
}

function resolveRest(rest: unknown): false | ResolvedEricSseRestOptions {
  if (rest === undefined || rest === false) return false;
  if (!isPlainObject(rest)) throw invalid(`rest must be false or an object, got ${describe(rest)}`);
  assertKnownKeys(rest, REST_KEYS, 'rest.');
  return { path: resolveRestPath(rest.path), guards: resolveGuards(rest.guards), bodyLimit: resolveBodyLimit(rest) };
}

function resolveRestPath(path: unknown): string {
  if (path === undefined) return DEFAULT_REST_PATH;
  const trimmed = typeof path === 'string' ? path.replace(/^\/+|\/+$/g, '') : '';
  if (trimmed === '' || /[\s?#]/.test(trimmed)) {
    throw invalid(`rest.path must be a route path such as '${DEFAULT_REST_PATH}', got ${describe(path)}`);
  }
  return trimmed;
}

function resolveGuards(guards: unknown): ResolvedEricSseRestOptions['guards'] {
  if (guards === undefined) return [];
  if (!Array.isArray(guards)) throw invalid(`rest.guards must be an array, got ${describe(guards)}`);
  guards.forEach((guard: unknown, index) => {
    if (typeof guard !== 'function' && !hasMethods(guard, ['canActivate'])) {
      throw invalid(
        `rest.guards[${index}] must be a guard class or an object with canActivate(), got ${describe(guard)}`,
      );
    }
  });
  return [...guards] as ResolvedEricSseRestOptions['guards'];
}

function resolveBodyLimit(rest: Record<string, unknown>): number {
  return assertInteger(rest.bodyLimit ?? DEFAULT_REST_BODY_LIMIT, 'rest.bodyLimit', 1);
}

function assertKnownKeys(object: Record<string, unknown>, known: string[], prefix: string): void {
  for (const key of Object.keys(object)) {
    if (!known.includes(key)) {
      throw invalid(`${prefix}${key} is not an option (known: ${known.map((k) => prefix + k).join(', ')})`);
    }
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasMethods(value: unknown, methods: string[]): boolean {
  if (typeof value !== 'object' || value === null) return false;
  return methods.every((method) => typeof (value as Record<string, unknown>)[method] === 'function');
}

function describe(value: unknown): string {
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && value.constructor !== Object) {
    return `an instance of ${value.constructor?.name ?? 'an unknown class'}`;
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function invalid(message: string): InvalidConfigurationException {
  return new InvalidConfigurationException(message);
}
