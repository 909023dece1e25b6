import type { AbstractChannel, ChannelData } from '../core/channel.js';
import type { Connection, ConnectionsFactory } from '../core/connection.js';
import type { MessageQueueListener } from '../core/listener.js';
import type { Queue } from '../core/queue.js';

/** Stores the listener of each connection, by connection id. */
export interface ListenerRepository {
  /** Rejects with `ItemNotFound` when nothing is stored for the connection. */
  load(connectionId: string): Promise<MessageQueueListener>;
  persist(connectionId: string, listener: MessageQueueListener): Promise<void>;
  /** Idempotent. */
  delete(connectionId: string): Promise<void>;
}

/** Stores the queue of each connection, by connection id. */
export interface QueueRepository {
  /** Rejects with `ItemNotFound` when nothing is stored for the connection. */
  load(connectionId: string): Promise<Queue>;
  persist(connectionId: string, queue: Queue): Promise<void>;
  /** Idempotent. */
  delete(connectionId: string): Promise<void>;
}

/** Stores the connections of each channel. */
export interface ConnectionRepositoryContract {
  /** The channel's connections, in the order they were first persisted. */
  loadAll(channelId: string): Promise<Connection[]>;
  /** Rejects with `ItemNotFound` when the channel has no such connection. */
  loadOne(channelId: string, connectionId: string): Promise<Connection>;
  persist(channelId: string, connection: Connection): Promise<void>;
  /** Removes the connection with its listener and queue. Idempotent. */
  delete(channelId: string, connectionId: string): Promise<void>;
  /**
   * The ids of the channel's stored connections, without loading them. Optional: channel
   * repositories fall back to `loadAll` when it is missing.
   */
  loadIds?(channelId: string): Promise<string[]>;
}

/** Stores channels with their connections. */
export interface ChannelRepository<C extends AbstractChannel = AbstractChannel> {
  readonly connectionsFactory: ConnectionsFactory;
  readonly connectionsRepository: ConnectionRepositoryContract;
  loadAll(): Promise<C[]>;
  /** Rejects with `ItemNotFound` when no channel has this id. */
  loadOne(id: string): Promise<C>;
  /** Stores the channel's settings and connections; connections it no longer has are removed. */
  persist(channel: C): Promise<void>;
  /** Removes the channel and its connections. Idempotent. */
  delete(id: string): Promise<void>;
  /** Builds a channel, with this repository's connections factory, from stored settings. */
  create(channelData: ChannelData): C;
}
