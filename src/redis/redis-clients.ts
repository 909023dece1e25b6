import { Redis, type RedisOptions } from 'ioredis';
import { getEricLogger } from '../core/logger.js';

/** Reconnects after 100 ms, 200 ms, 400 ms... at most 2 s apart, for as long as it takes. */
export function defaultRetryStrategy(times: number): number {
  return Math.min(50 * 2 ** Math.min(times, 6), 2000);
}

/**
 * How long a command may take before it fails, so that a Redis that hangs (frozen, overloaded, a network
 * partition that drops packets) cannot hang a request: the caller gets a `RepositoryError` saying the
 * outcome is unknown. Set ioredis's `commandTimeout` in the `redis` options to change it.
 */
export const DEFAULT_COMMAND_TIMEOUT_MS = 2_000;

/**
 * What the backend needs from every connection, whatever the user's options: commands fail at once
 * while disconnected instead of queueing without bound; a command in flight when the connection drops
 * fails instead of being sent again (it may have run: resending could queue a message twice).
 */
const FORCED: RedisOptions = {
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
};

/** The process's two connections: one for commands and scripts, one for pub/sub. */
export function createRedisClients(redis: string | RedisOptions): { client: Redis; subscriber: Redis } {
  const base: RedisOptions = typeof redis === 'string' ? {} : redis;
  const defaults: RedisOptions = { retryStrategy: defaultRetryStrategy, commandTimeout: DEFAULT_COMMAND_TIMEOUT_MS };
  const make = (role: string, extra: RedisOptions): Redis => {
    const merged: RedisOptions = { ...defaults, ...base };
    const retry = merged.retryStrategy;
    let connected = false;
    const options: RedisOptions = {
      ...merged,
      connectionName: base.connectionName ?? `eric-sse-${role}`,
      // No retry before the first connection: connecting fails at once (and leaves no timer behind).
      retryStrategy: (times) => (connected && typeof retry === 'function' ? retry(times) : null),
      ...FORCED,
      ...extra,
    };
    const connection = typeof redis === 'string' ? new Redis(redis, options) : new Redis(options);
    connection.once('ready', () => (connected = true));
    reportOutages(connection, role);
    return connection;
  };
  return {
    // Commands issued in one turn of the event loop (a broadcast waking many streams) go out in one write.
    client: make('commands', { enableAutoPipelining: true }),
    // Subscriptions are renewed by the wake hub, which needs to know when Redis acknowledged them.
    subscriber: make('pubsub', { autoResubscribe: false, commandTimeout: undefined }),
  };
}

/** Logs an outage once (not once per reconnection attempt) and its end; an 'error' listener also keeps ioredis from throwing. */
function reportOutages(connection: Redis, role: string): void {
  let down = false;
  let wasReady = false;
  connection.on('error', (error: Error) => {
    if (down || !wasReady) return;
    down = true;
    getEricLogger().error(`Redis ${role} connection lost; reconnecting`, error);
  });
  connection.on('close', () => {
    if (wasReady && !down && connection.status !== 'end') {
      down = true;
      getEricLogger().error(`Redis ${role} connection closed; reconnecting`);
    }
  });
  connection.on('ready', () => {
    wasReady = true;
    if (!down) return;
    down = false;
    getEricLogger().debug(`Redis ${role} connection is back`);
  });
}
