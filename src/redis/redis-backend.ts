import type { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { RepositoryError } from '../core/errors.js';
import type { ResolvedIdempotencyOptions } from '../core/idempotency.js';
import type { ListenerRegistry } from '../persistence/listener-registry.js';
import {
  resolveRedisBackendOptions,
  type RedisBackendOptions,
  type ResolvedRedisBackendLimits,
} from './redis-backend-options.js';
import { RedisChannelRepository } from './redis-channel-repository.js';
import { createRedisClients } from './redis-clients.js';
import { RedisConnectionsFactory } from './redis-connections-factory.js';
import { RedisIdleListeners } from './redis-idle-listeners.js';
import { MessageDecoder } from './message-decoder.js';
import { RedisKeys } from './redis-keys.js';
import type { RedisQueue } from './redis-queue.js';
import { RedisScripts } from './redis-scripts.js';
import { RedisStorage } from './redis-storage.js';
import { RedisTaker } from './redis-taker.js';
import { ORIGIN_LENGTH, RedisWakeHub } from './redis-wake-hub.js';

/**
 * One process's link to the shared Redis: two connections (commands, pub/sub) whatever the number of
 * channels, listeners and streams, the scripts, and the local side of waking. Owns its connections:
 * `close()` ends them. Make one with `connectRedisBackend(options)`.
 */
export class RedisBackend {
  readonly keys: RedisKeys;
  readonly scripts: RedisScripts;
  readonly hub: RedisWakeHub;
  readonly connectionsFactory: RedisConnectionsFactory;
  readonly channelRepository: RedisChannelRepository;
  /** @internal Shares one decoded object among the copies of a message that local streams pop. */
  readonly decoder = new MessageDecoder();
  /** @internal Takes messages for the streams waiting in this process, one script per tick. */
  readonly taker: RedisTaker;
  /**
   * When each listener was last streamed, shared by every process (with `trackIdleListeners`; undefined
   * otherwise): the store to give an `IdleListenerReaper`.
   */
  readonly idleListeners: RedisIdleListeners | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly client: Redis,
    readonly subscriber: Redis,
    keyPrefix: string,
    readonly listenerRegistry: ListenerRegistry,
    /** The bounds enforced in Redis (`limits` option); `Infinity` where there is none. */
    readonly limits: ResolvedRedisBackendLimits,
    trackIdleListeners: boolean,
    /** How long, and how many per channel, idempotency keys are kept (`idempotency` option). */
    readonly idempotency: ResolvedIdempotencyOptions,
  ) {
    this.keys = new RedisKeys(keyPrefix);
    this.idleListeners = trackIdleListeners ? new RedisIdleListeners(this) : undefined;
    this.scripts = new RedisScripts(client);
    this.hub = new RedisWakeHub(subscriber, this.keys, randomBytes(ORIGIN_LENGTH / 2).toString('hex'));
    this.connectionsFactory = new RedisConnectionsFactory(this);
    this.channelRepository = new RedisChannelRepository(this);
    this.taker = new RedisTaker(this);
    let ready = false;
    // A pop or a length check that failed while the command connection was down may have missed messages.
    client.on('ready', () => {
      if (ready) this.hub.wakeAll();
      ready = true;
    });
  }

  /** Connects both connections; rejects with `RepositoryError` when Redis cannot be reached. */
  static async connect(options: RedisBackendOptions): Promise<RedisBackend> {
    const resolved = resolveRedisBackendOptions(options);
    const { client, subscriber } = createRedisClients(resolved.redis);
    const backend = new RedisBackend(
      client,
      subscriber,
      resolved.keyPrefix,
      resolved.listenerRegistry,
      resolved.limits,
      resolved.trackIdleListeners,
      resolved.idempotency,
    );
    try {
      await Promise.all([client.connect(), subscriber.connect()]);
      await backend.hub.start();
    } catch (error) {
      await Promise.all([client, subscriber].map(quit));
      throw new RepositoryError(`Cannot connect to Redis: ${error instanceof Error ? error.message : String(error)}`);
    }
    return backend;
  }

  get keyPrefix(): string {
    return this.keys.prefix;
  }

  /** A `KvStorage` in this Redis, under `<p>kv:<namespace>:`. */
  storage(namespace?: string): RedisStorage {
    return new RedisStorage(this, namespace);
  }

  /** @internal True when the queue was made for this backend. */
  owns(queue: RedisQueue): boolean {
    return queue.backend === this;
  }

  get isClosed(): boolean {
    return this.closing !== undefined;
  }

  /** Closes both connections (waiting for replies in flight). Safe to call more than once. */
  close(): Promise<void> {
    return (this.closing ??= this.shutDown());
  }

  private async shutDown(): Promise<void> {
    this.hub.close();
    this.taker.stopRetries();
    await Promise.all([this.client, this.subscriber].map(quit));
  }
}

/** Connects a `RedisBackend`; rejects with `RepositoryError` when Redis cannot be reached. */
export function connectRedisBackend(options: RedisBackendOptions): Promise<RedisBackend> {
  return RedisBackend.connect(options);
}

/** QUIT when connected (replies in flight arrive first), then waits for the socket to close. */
async function quit(connection: Redis): Promise<void> {
  const { status } = connection;
  if (status === 'end') return;
  // Without a socket (between reconnection attempts) there is nothing to wait for: disconnect stops the attempts.
  const hasSocket = status === 'ready' || status === 'connect' || status === 'connecting';
  const ended = hasSocket ? once(connection, 'end') : undefined;
  if (status === 'ready') {
    try {
      await connection.quit();
    } catch {
      // Lost meanwhile: disconnect below.
    }
  }
  connection.disconnect();
  if (ended !== undefined) await Promise.race([ended, settleAfter(CLOSE_TIMEOUT_MS)]);
}

const CLOSE_TIMEOUT_MS = 2000;

function settleAfter(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
