import type { Connection } from '../core/connection.js';
import type { PublishOptions } from '../core/idempotency.js';
import type { MessageContract } from '../core/message.js';
import { SimpleDistributedApplicationChannel } from '../prefabs/simple-distributed-application.js';
import { SSEChannel, type SSEChannelOptions } from '../prefabs/sse-channel.js';
import type { RedisBackend } from './redis-backend.js';
import { RedisChannelLink } from './redis-channel-link.js';
import { boundArg } from './redis-limits.js';

/** Options of the Redis channel classes: those of `SSEChannel`, the connections factory being the backend's. */
/** Limits and idempotency come from the backend (`limits`, `idempotency`), enforced in Redis for every process. */
export interface RedisChannelOptions extends Omit<
  SSEChannelOptions,
  'connectionsFactory' | 'maxListeners' | 'maxPayloadBytes' | 'idempotency'
> {
  backend: RedisBackend;
}

/** A channel kept in Redis: what every Redis channel class has. */
export interface RedisChannel extends SSEChannel {
  /** The name its class is stored under. */
  readonly kind: string;
  readonly redis: RedisChannelLink;
}

/**
 * An `SSEChannel` kept in Redis, usable from every process on the same Redis and key prefix: listeners
 * (id and type name, in order) and queues live there; dispatch and broadcast are one script each.
 * `getListener` / `getConnection` / `getConnections` see the listeners attached in this process;
 * `resolveConnection` and `listListenerIds` see them all. Make them with `RedisChannelRepository.create`.
 */
export class RedisSSEChannel extends SSEChannel implements RedisChannel {
  static readonly kind = 'SSEChannel';
  readonly kind = RedisSSEChannel.kind;
  readonly redis: RedisChannelLink;

  constructor(options: RedisChannelOptions) {
    super(channelOptionsOf(options));
    this.redis = new RedisChannelLink(options.backend, this, {
      register: async (connection) => super.attachConnection(connection),
      remove: (listenerId) => super.removeListener(listenerId),
    });
  }

  override registerConnection(connection: Connection): Promise<void> {
    return this.redis.register(connection);
  }

  override removeListener(listenerId: string): Promise<void> {
    return this.redis.remove(listenerId);
  }

  override dispatch(listenerId: string, msg: MessageContract, options?: PublishOptions): Promise<void> {
    return this.redis.dispatch(listenerId, msg, options);
  }

  override async broadcast(msg: MessageContract, options?: PublishOptions): Promise<void> {
    await this.redis.broadcast(msg, options);
  }

  override broadcastAndCount(msg: MessageContract, options?: PublishOptions): Promise<number> {
    return this.redis.broadcast(msg, options);
  }

  override resolveConnection(listenerId: string): Promise<Connection> {
    return this.redis.resolve(listenerId);
  }

  override listListenerIds(): Promise<string[]> {
    return this.redis.listListenerIds();
  }
}

/** A `SimpleDistributedApplicationChannel` kept in Redis (see `RedisSSEChannel`). */
export class RedisSimpleDistributedApplicationChannel
  extends SimpleDistributedApplicationChannel
  implements RedisChannel
{
  static readonly kind = 'SimpleDistributedApplicationChannel';
  readonly kind = RedisSimpleDistributedApplicationChannel.kind;
  readonly redis: RedisChannelLink;

  constructor(options: RedisChannelOptions) {
    super(channelOptionsOf(options));
    this.redis = new RedisChannelLink(options.backend, this, {
      register: async (connection) => super.attachConnection(connection),
      remove: (listenerId) => super.removeListener(listenerId),
    });
  }

  override registerConnection(connection: Connection): Promise<void> {
    return this.redis.register(connection);
  }

  override removeListener(listenerId: string): Promise<void> {
    return this.redis.remove(listenerId);
  }

  override dispatch(listenerId: string, msg: MessageContract, options?: PublishOptions): Promise<void> {
    return this.redis.dispatch(listenerId, msg, options);
  }

  override async broadcast(msg: MessageContract, options?: PublishOptions): Promise<void> {
    await this.redis.broadcast(msg, options);
  }

  override broadcastAndCount(msg: MessageContract, options?: PublishOptions): Promise<number> {
    return this.redis.broadcast(msg, options);
  }

  override resolveConnection(listenerId: string): Promise<Connection> {
    return this.redis.resolve(listenerId);
  }

  override listListenerIds(): Promise<string[]> {
    return this.redis.listListenerIds();
  }
}

/**
 * What the plain channel class below is made with: the backend's connections factory, limits and
 * idempotency (so that `maxListeners`, `maxPayloadBytes` and `idempotency` say what the scripts enforce;
 * Redis counts the listeners).
 */
function channelOptionsOf(options: RedisChannelOptions): SSEChannelOptions {
  const { maxListenersPerChannel, maxPayloadBytes } = options.backend.limits;
  return {
    ...options,
    connectionsFactory: options.backend.connectionsFactory,
    maxListeners: boundArg(maxListenersPerChannel),
    maxPayloadBytes: boundArg(maxPayloadBytes),
    idempotency: options.backend.idempotency,
  };
}

/** The Redis channel classes by the kind name they are stored under. */
export const REDIS_CHANNEL_KINDS: Readonly<Record<string, new (options: RedisChannelOptions) => RedisChannel>> = {
  [RedisSSEChannel.kind]: RedisSSEChannel,
  [RedisSimpleDistributedApplicationChannel.kind]: RedisSimpleDistributedApplicationChannel,
};

export function isRedisChannel(channel: unknown): channel is RedisChannel {
  return channel instanceof RedisSSEChannel || channel instanceof RedisSimpleDistributedApplicationChannel;
}
