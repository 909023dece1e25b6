import { randomUUID } from 'node:crypto';
import type { ChannelData } from '../core/channel.js';
import type { Connection } from '../core/connection.js';
import {
  InvalidChannelException,
  InvalidConfigurationException,
  InvalidListenerException,
  ItemNotFound,
  TooManyChannelsException,
} from '../core/errors.js';
import { getEricLogger } from '../core/logger.js';
import { isNonEmptyString, isRecord, malformed } from '../persistence/record-guards.js';
import type { ChannelRepository, ConnectionRepositoryContract } from '../persistence/repositories.js';
import type { ChannelStore } from '../servers/channel-store.js';
import type { RedisBackend } from './redis-backend.js';
import { REDIS_CHANNEL_KINDS, RedisSSEChannel, isRedisChannel, type RedisChannel } from './redis-channels.js';
import { redisCall } from './redis-errors.js';
import { boundArg } from './redis-limits.js';
import type { ControlMessage } from './redis-wake-hub.js';

/** What is stored per channel in `<p>channels`. */
export interface RedisChannelRecord {
  kind: string;
  data: ChannelData;
}

/** `ChannelData` plus the kind of channel to build (default `'SSEChannel'`). */
export type RedisChannelData = Partial<ChannelData> & { kind?: string };

/**
 * The channels kept in Redis, as a `ChannelRepository` (the persistence contract) and a `ChannelStore`
 * (what a `ChannelContainer` loads shared channels through).
 *
 * Channels are written through: a Redis channel stores its listeners and messages as they come, so
 * `persist` only writes the channel's settings. Within one repository a channel id has one object
 * (`load` gives the same one each time), which is how removals made by other processes reach the
 * streams of this one: on the control message, the channel's listeners here are stopped.
 */
export class RedisChannelRepository implements ChannelRepository<RedisChannel>, ChannelStore {
  readonly connectionsRepository: ConnectionRepositoryContract;
  private readonly live = new Map<string, RedisChannel>();
  private readonly removedCallbacks = new Set<(channelId: string) => void>();

  constructor(readonly backend: RedisBackend) {
    this.connectionsRepository = new RedisConnectionRepository(this);
    backend.hub.onControl((message) => this.onControl(message));
    // Either connection coming back may be the last one: check once both are up.
    backend.hub.onResume(() => void this.reconcile());
    backend.client.on('ready', () => void this.reconcile());
  }

  get connectionsFactory(): RedisBackend['connectionsFactory'] {
    return this.backend.connectionsFactory;
  }

  /**
   * Builds a channel of `kind` (`'SSEChannel'` by default, or `'SimpleDistributedApplicationChannel'`)
   * from its settings, not stored yet: `add` or `persist` stores it. No `channelId` → a fresh UUID.
   */
  create(channelData: RedisChannelData): RedisChannel {
    if (!isRecord(channelData)) throw new InvalidConfigurationException('Channel data must be an object');
    const { kind = RedisSSEChannel.kind, channelId = randomUUID(), ...settings } = channelData;
    const ChannelClass =
      typeof kind === 'string' && Object.hasOwn(REDIS_CHANNEL_KINDS, kind) ? REDIS_CHANNEL_KINDS[kind] : undefined;
    if (ChannelClass === undefined) {
      throw new InvalidConfigurationException(
        `Unknown channel kind ${JSON.stringify(kind)} (known: ${Object.keys(REDIS_CHANNEL_KINDS).join(', ')})`,
      );
    }
    return new ChannelClass({
      channelId,
      streamDelaySeconds: settings.streamDelaySeconds as number | undefined,
      retryTimeoutMilliseconds: settings.retryTimeoutMilliseconds as number | undefined,
      backend: this.backend,
    });
  }

  /**
   * Stores a new channel; a taken id is an `InvalidChannelException`, one past the backend's
   * `limits.maxChannels` a `TooManyChannelsException`.
   */
  async add(channel: RedisChannel): Promise<void> {
    const record = this.recordOf(channel);
    const { keys } = this.backend;
    const created = await redisCall(`create channel ${channel.id}`, () =>
      this.backend.scripts.run(
        'ericSseCreateChannel',
        [keys.channels, keys.channelOrder, keys.seq],
        [channel.id, record, boundArg(this.backend.limits.maxChannels)],
      ),
    );
    if (created === 0) throw new InvalidChannelException(`Channel ${channel.id} already exists`);
    if (created === -1) throw this.tooManyChannels();
    if (!this.live.has(channel.id)) this.live.set(channel.id, channel);
  }

  /** Stores the channel's settings, creating it if it is new (within `limits.maxChannels`). */
  async persist(channel: RedisChannel): Promise<void> {
    const record = this.recordOf(channel);
    const { keys } = this.backend;
    const stored = await redisCall(`store channel ${channel.id}`, () =>
      this.backend.scripts.run(
        'ericSseUpsertChannel',
        [keys.channels, keys.channelOrder, keys.seq],
        [channel.id, record, boundArg(this.backend.limits.maxChannels)],
      ),
    );
    if (stored === -1) throw this.tooManyChannels();
    if (!this.live.has(channel.id)) this.live.set(channel.id, channel);
  }

  async load(channelId: string): Promise<RedisChannel | undefined> {
    const held = this.live.get(channelId);
    if (held !== undefined) return held;
    const text = await redisCall(`load channel ${channelId}`, () =>
      this.backend.client.hget(this.backend.keys.channels, channelId),
    );
    return text === null ? undefined : this.adopt(channelId, text);
  }

  /** Rejects with `ItemNotFound` when no channel has this id. */
  async loadOne(id: string): Promise<RedisChannel> {
    const channel = await this.load(id);
    if (channel === undefined) throw new ItemNotFound(`No channel with id ${id}`);
    return channel;
  }

  /** Every stored channel, in creation order. Their listeners attach when resolved (`resolveConnection`). */
  async loadAll(): Promise<RedisChannel[]> {
    const { keys } = this.backend;
    const flat = (await redisCall('load the channels', () =>
      this.backend.scripts.run('ericSseLoadChannels', [keys.channels, keys.channelOrder], []),
    )) as string[];
    const channels: RedisChannel[] = [];
    for (let i = 0; i < flat.length; i += 2) channels.push(this.live.get(flat[i]) ?? this.adopt(flat[i], flat[i + 1]));
    return channels;
  }

  async listIds(): Promise<string[]> {
    const { keys } = this.backend;
    return redisCall('list the channels', () => this.backend.client.zrange(keys.channelOrder, '0', '-1'));
  }

  /** Removes the channel, its listeners, their queues and its idempotency keys; every process stops its streams. */
  async remove(channelId: string): Promise<boolean> {
    const { keys } = this.backend;
    const removed = await redisCall(`remove channel ${channelId}`, () =>
      this.backend.scripts.run(
        'ericSseDeleteChannel',
        [
          keys.channels,
          keys.channelOrder,
          keys.listeners(channelId),
          keys.listenerTypes(channelId),
          keys.idempotencyIndex(channelId),
        ],
        [
          channelId,
          keys.queuePrefix(channelId),
          keys.control,
          JSON.stringify({ rc: channelId }),
          keys.eventIdPrefix(channelId),
          keys.historyPrefix(channelId),
          keys.idempotencyPrefix(channelId),
        ],
      ),
    );
    await this.forget(channelId);
    return removed === 1;
  }

  /** Idempotent. */
  async delete(id: string): Promise<void> {
    await this.remove(id);
  }

  /**
   * @internal A listener was removed in Redis by this process other than through its channel (idle
   * reaping): stops it here at once, as the control message would (which then finds nothing to do).
   */
  async forgetListener(channelId: string, listenerId: string): Promise<void> {
    await this.live.get(channelId)?.redis.detach(listenerId);
  }

  onRemoved(callback: (channelId: string) => void): () => void {
    this.removedCallbacks.add(callback);
    return () => this.removedCallbacks.delete(callback);
  }

  private tooManyChannels(): TooManyChannelsException {
    return new TooManyChannelsException(
      `Cannot add a channel: maxChannels (${this.backend.limits.maxChannels}) reached`,
    );
  }

  private recordOf(channel: RedisChannel): string {
    if (!isRedisChannel(channel) || channel.redis.backend !== this.backend) {
      throw new InvalidConfigurationException(
        `Channel ${(channel as { id?: unknown })?.id} is not a Redis channel of this backend: make it with RedisChannelRepository.create`,
      );
    }
    const record: RedisChannelRecord = { kind: channel.kind, data: channel.toData() };
    return JSON.stringify(record);
  }

  /** Builds a stored channel and makes it this repository's object for its id. */
  private adopt(channelId: string, text: string): RedisChannel {
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch {
      throw malformed('channel', text, 'not JSON');
    }
    if (!isRecord(record) || !isNonEmptyString(record.kind) || !isRecord(record.data)) {
      throw malformed('channel', record, 'expected { kind, data }');
    }
    let channel: RedisChannel;
    try {
      channel = this.create({ ...record.data, channelId, kind: record.kind });
    } catch (error) {
      throw malformed('channel', record, (error as Error).message);
    }
    const held = this.live.get(channelId);
    if (held !== undefined) return held;
    this.live.set(channelId, channel);
    return channel;
  }

  /** The channel was removed: stop its streams here and let containers forget it. */
  private async forget(channelId: string): Promise<void> {
    const channel = this.live.get(channelId);
    this.live.delete(channelId);
    this.backend.hub.dropChannel(channelId);
    for (const callback of this.removedCallbacks) callback(channelId);
    if (channel !== undefined) await channel.redis.detachAll();
  }

  private onControl(message: ControlMessage): void {
    if ('rc' in message) {
      void this.forget(message.rc);
    } else if ('rl' in message && Array.isArray(message.rl)) {
      const [channelId, listenerId] = message.rl;
      void this.live.get(channelId)?.redis.detach(listenerId);
    }
  }

  /** Back from a lost connection: removals announced meanwhile were missed, so compare with Redis. */
  private async reconcile(): Promise<void> {
    const { client, subscriber, keys } = this.backend;
    if (this.live.size === 0 || client.status !== 'ready' || subscriber.status !== 'ready') return;
    try {
      for (const [channelId, channel] of [...this.live]) {
        if ((await client.hexists(keys.channels, channelId)) === 0) {
          await this.forget(channelId);
          continue;
        }
        const attached = channel.getConnections().map(({ listener }) => listener.id);
        if (attached.length === 0) continue;
        const scores = await client.zmscore(keys.listeners(channelId), ...attached);
        for (let i = 0; i < attached.length; i++) if (scores[i] === null) await channel.redis.detach(attached[i]);
      }
    } catch (error) {
      // Lost again: the next reconnection checks again.
      getEricLogger().debug(`Checking channels against Redis after a reconnect failed: ${String(error)}`);
    }
  }
}

/** The connections of Redis channels, for the `ChannelRepository` contract: by listener id, in order. */
export class RedisConnectionRepository implements ConnectionRepositoryContract {
  constructor(private readonly channels: RedisChannelRepository) {}

  async loadAll(channelId: string): Promise<Connection[]> {
    const channel = await this.channels.loadOne(channelId);
    const ids = await channel.listListenerIds();
    return Promise.all(ids.map((id) => channel.resolveConnection(id)));
  }

  async loadOne(channelId: string, connectionId: string): Promise<Connection> {
    const channel = await this.channels.loadOne(channelId);
    try {
      return await channel.resolveConnection(connectionId);
    } catch (error) {
      throw new ItemNotFound(`No connection ${connectionId} in channel ${channelId}: ${(error as Error).message}`);
    }
  }

  async loadIds(channelId: string): Promise<string[]> {
    return (await this.channels.loadOne(channelId)).listListenerIds();
  }

  async persist(channelId: string, connection: Connection): Promise<void> {
    const channel = await this.channels.loadOne(channelId);
    if (!channel.hasListener(connection.listener.id)) await channel.registerConnection(connection);
  }

  async delete(channelId: string, connectionId: string): Promise<void> {
    const channel = await this.channels.load(channelId);
    if (channel === undefined) return;
    try {
      await channel.removeListener(connectionId);
    } catch (error) {
      if (!(error instanceof InvalidListenerException)) throw error;
    }
  }
}
