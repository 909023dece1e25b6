import type { AbstractChannel } from '../core/channel.js';

/**
 * Where a `ChannelContainer` keeps channels shared with other processes (the Redis backend's
 * `RedisChannelRepository`). The container holds the channels this process uses; the store holds all.
 */
export interface ChannelStore {
  /** Stores a new channel; rejects with `InvalidChannelException` when its id is taken. */
  add(channel: AbstractChannel): Promise<void>;
  /** The stored channel with this id, or undefined when there is none. */
  load(channelId: string): Promise<AbstractChannel | undefined>;
  /** Removes the channel with its listeners and queues. Resolves false when there was none. */
  remove(channelId: string): Promise<boolean>;
  /** Ids of every stored channel, in creation order. */
  listIds(): Promise<string[]>;
  /**
   * Calls back with the id of every channel removed (by any process), so that a container forgets it.
   * Returns a function that cancels it.
   */
  onRemoved(callback: (channelId: string) => void): () => void;
}
