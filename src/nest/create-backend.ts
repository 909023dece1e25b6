import type { AbstractChannel } from '../core/channel.js';
import { InMemoryConnectionsFactory, type ConnectionsFactory } from '../core/connection.js';
import { ConnectionRepository } from '../persistence/connection-repository.js';
import { InMemoryStorage } from '../persistence/in-memory-storage.js';
import { KvListenerRepository } from '../persistence/kv-listener-repository.js';
import { KvQueueRepository } from '../persistence/kv-queue-repository.js';
import type { KvStorage } from '../persistence/kv-storage.js';
import { PrefixedStorage } from '../persistence/prefixed-storage.js';
import type { ChannelRepository } from '../persistence/repositories.js';
import { SSEChannelRepository } from '../persistence/sse-channel-repository.js';
import { SimpleDistributedApplicationChannel } from '../prefabs/simple-distributed-application.js';
import { SSEChannel } from '../prefabs/sse-channel.js';
import { RedisBackend } from '../redis/redis-backend.js';
import { RedisSSEChannel, RedisSimpleDistributedApplicationChannel } from '../redis/redis-channels.js';
import { RedisSseHistory } from '../redis/redis-sse-history.js';
import type { ChannelStore } from '../servers/channel-store.js';
import type { IdleListenerStore } from '../servers/idle-listener-reaper.js';
import { InMemorySseHistory } from '../sse/in-memory-sse-history.js';
import type { SseHistory } from '../sse/sse-history.js';
import type { ResolvedEricSseOptions } from './eric-sse-module-options.js';

/** The channel classes the module makes: plain SSE channels, and the ones `@OnMessage` listeners join. */
export type EricSseChannelKind = 'sse' | 'distributed-application';

/** What the module's channels are made of. */
export interface EricSseChannelSettings {
  /** Default: a fresh UUID. */
  id?: string;
  streamDelaySeconds?: number;
  retryTimeoutMilliseconds?: number;
}

/** Where the module's listeners queue and its channels are stored. */
export interface EricSseBackend {
  connectionsFactory: ConnectionsFactory;
  channelRepository: ChannelRepository;
  /** Where the `ChannelContainer` finds channels shared with other instances (Redis); undefined in memory. */
  channelStore: ChannelStore | undefined;
  /** Where listeners' SSE event ids and replay histories are kept (in this process, or in Redis); undefined with `history: false`. */
  history: SseHistory | undefined;
  /** Where processes share when listeners were last streamed (Redis); undefined in memory. */
  idleListenerStore: IdleListenerStore | undefined;
  /**
   * How long a call may take before it is answered as of unknown outcome (Redis: its command timeout, so
   * a call of several commands is bounded too); undefined in memory, where nothing waits on I/O.
   */
  callDeadlineMilliseconds: number | undefined;
  /** Makes a channel of this backend, not registered anywhere yet. */
  createChannel(kind: EricSseChannelKind, settings?: EricSseChannelSettings): AbstractChannel;
  /** Releases what the backend holds (Redis connections). */
  close(): Promise<void>;
}

/**
 * The one place that picks the backend from the options: Redis when `redis` is given, else in memory
 * (with the given connections factory and storage, if any).
 */
export async function createEricSseBackend(options: ResolvedEricSseOptions): Promise<EricSseBackend> {
  if (options.redis !== undefined) {
    const { maxQueueSize, queueOverflow, maxListenersPerChannel, maxChannels, maxPayloadBytes } = options.limits;
    const backend = await RedisBackend.connect({
      redis: options.redis.connection,
      keyPrefix: options.redis.keyPrefix,
      limits: {
        maxQueueSize: noneAsZero(maxQueueSize),
        queueOverflow,
        maxListenersPerChannel: noneAsZero(maxListenersPerChannel),
        maxChannels: noneAsZero(maxChannels),
        maxPayloadBytes: noneAsZero(maxPayloadBytes),
      },
      trackIdleListeners: options.limits.idleListenerTimeoutMilliseconds > 0,
      idempotency: options.idempotency,
    });
    return redisBackend(backend, options);
  }
  return inMemoryBackend(options);
}

function inMemoryBackend(options: ResolvedEricSseOptions): EricSseBackend {
  const { maxQueueSize, queueOverflow, maxListenersPerChannel, maxPayloadBytes } = options.limits;
  const connectionsFactory =
    options.connectionsFactory ??
    new InMemoryConnectionsFactory({ maxSize: noneAsZero(maxQueueSize), overflow: queueOverflow });
  const channelOptions = {
    maxListeners: noneAsZero(maxListenersPerChannel),
    maxPayloadBytes: noneAsZero(maxPayloadBytes),
    idempotency: options.idempotency,
  };
  return {
    connectionsFactory,
    channelRepository: createChannelRepository(options.storage ?? new InMemoryStorage(), connectionsFactory),
    channelStore: undefined,
    history: options.history === false ? undefined : new InMemorySseHistory(options.history),
    idleListenerStore: undefined,
    callDeadlineMilliseconds: undefined,
    createChannel(kind, { id, streamDelaySeconds, retryTimeoutMilliseconds } = {}) {
      const settings = {
        channelId: id,
        streamDelaySeconds,
        retryTimeoutMilliseconds,
        connectionsFactory,
        ...channelOptions,
      };
      return kind === 'sse' ? new SSEChannel(settings) : new SimpleDistributedApplicationChannel(settings);
    },
    close: async () => {},
  };
}

function redisBackend(redis: RedisBackend, options: ResolvedEricSseOptions): EricSseBackend {
  const repository = redis.channelRepository;
  return {
    connectionsFactory: redis.connectionsFactory,
    channelRepository: repository,
    channelStore: repository,
    history: options.history === false ? undefined : new RedisSseHistory(redis, options.history),
    idleListenerStore: redis.idleListeners,
    callDeadlineMilliseconds: redis.client.options.commandTimeout,
    createChannel(kind, { id, streamDelaySeconds, retryTimeoutMilliseconds } = {}) {
      return repository.create({
        kind: kind === 'sse' ? RedisSSEChannel.kind : RedisSimpleDistributedApplicationChannel.kind,
        channelId: id,
        streamDelaySeconds,
        retryTimeoutMilliseconds,
      });
    },
    close: () => redis.close(),
  };
}

/** A resolved bound (`Infinity`: none) as the options of the core classes take it (0: none). */
function noneAsZero(bound: number): number {
  return bound === Infinity ? 0 : bound;
}

/** The repositories share one storage, each under its own key prefix so they never see each other's records. */
function createChannelRepository(storage: KvStorage, connectionsFactory: ConnectionsFactory): SSEChannelRepository {
  const view = (prefix: string): KvStorage => new PrefixedStorage(storage, prefix);
  const connections = new ConnectionRepository(
    view('connections:'),
    new KvListenerRepository(view('listeners:')),
    new KvQueueRepository(view('queues:')),
  );
  return new SSEChannelRepository(view('channels:'), connections, connectionsFactory);
}
