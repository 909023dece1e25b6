import type { AbstractChannel } from '../core/channel.js';
import { InvalidChannelException, TooManyChannelsException } from '../core/errors.js';
import { resolveBound } from '../core/limits.js';
import type { ChannelStore } from './channel-store.js';

export interface ChannelContainerLimits {
  /**
   * Most channels the container holds (`TooManyChannelsException` past it); 0 or absent: no bound. With a
   * store, the store counts every process's channels and enforces its own bound: this one is not used.
   */
  maxChannels?: number;
}

/**
 * Holds the channels of an application by id.
 *
 * The synchronous methods see the channels held in this process. The async ones (`add`, `resolve`,
 * `listIds`, `remove`) also go through the container's `ChannelStore` when it has one (a backend shared
 * by several processes, such as Redis): a channel created by another process is loaded on first use.
 * Without a store they act on this process's channels alone.
 */
export class ChannelContainer {
  /** Most channels held without a store; `Infinity`: no bound. */
  readonly maxChannels: number;
  private readonly channels = new Map<string, AbstractChannel>();

  constructor(
    readonly store?: ChannelStore,
    limits: ChannelContainerLimits = {},
  ) {
    this.maxChannels = store === undefined ? resolveBound(limits.maxChannels, 'maxChannels') : Infinity;
    // A channel removed by any process is forgotten here, so that it is not served from this process.
    store?.onRemoved((channelId) => this.channels.delete(channelId));
  }

  /** Rejects a second channel with an id already held, and one past `maxChannels`. */
  register(channel: AbstractChannel): void {
    if (this.channels.has(channel.id)) {
      throw new InvalidChannelException(`Channel ${channel.id} is already registered`);
    }
    this.assertRoomFor(1);
    this.channels.set(channel.id, channel);
  }

  /**
   * Registers each channel whose id is not held yet; skips the others. Past `maxChannels`, registers
   * none of them (`TooManyChannelsException`).
   */
  registerIterable(channels: Iterable<AbstractChannel>): void {
    const added = new Map<string, AbstractChannel>();
    for (const channel of channels) {
      if (!this.channels.has(channel.id) && !added.has(channel.id)) added.set(channel.id, channel);
    }
    this.assertRoomFor(added.size);
    for (const [id, channel] of added) this.channels.set(id, channel);
  }

  get(channelId: string): AbstractChannel {
    const channel = this.channels.get(channelId);
    if (channel === undefined) throw new InvalidChannelException(`No channel with id ${channelId}`);
    return channel;
  }

  has(channelId: string): boolean {
    return this.channels.has(channelId);
  }

  /** Removes a channel; unknown ids are an `InvalidChannelException`. */
  rm(channelId: string): void {
    if (!this.channels.delete(channelId)) throw new InvalidChannelException(`No channel with id ${channelId}`);
  }

  getAllIds(): string[] {
    return [...this.channels.keys()];
  }

  /** `register`, and stores the channel in the store: a taken id (here or there) is an `InvalidChannelException`. */
  async add(channel: AbstractChannel): Promise<void> {
    if (this.channels.has(channel.id)) {
      throw new InvalidChannelException(`Channel ${channel.id} is already registered`);
    }
    this.assertRoomFor(1);
    if (this.store !== undefined) await this.store.add(channel);
    this.registerIterable([channel]);
  }

  /** The channel held here, else the one the store has (held from then on); unknown → `InvalidChannelException`. */
  resolve(channelId: string): Promise<AbstractChannel> {
    const channel = this.channels.get(channelId);
    if (channel !== undefined) return Promise.resolve(channel);
    if (this.store === undefined) {
      return Promise.reject(new InvalidChannelException(`No channel with id ${channelId}`));
    }
    return this.load(this.store, channelId);
  }

  /** Ids of every channel: the store's when there is one, else those held here. */
  listIds(): Promise<string[]> {
    return this.store === undefined ? Promise.resolve(this.getAllIds()) : this.store.listIds();
  }

  /**
   * Removes the channel here and from the store (which ends its streams in every process). Unknown
   * here and there → `InvalidChannelException`. Listeners held here are left to the caller.
   */
  async remove(channelId: string): Promise<void> {
    const stored = this.store === undefined ? false : await this.store.remove(channelId);
    const held = this.channels.delete(channelId);
    if (!held && !stored) throw new InvalidChannelException(`No channel with id ${channelId}`);
  }

  private assertRoomFor(count: number): void {
    if (count > 0 && this.channels.size + count > this.maxChannels) {
      throw new TooManyChannelsException(`Cannot add a channel: maxChannels (${this.maxChannels}) reached`);
    }
  }

  private async load(store: ChannelStore, channelId: string): Promise<AbstractChannel> {
    const loaded = await store.load(channelId);
    if (loaded === undefined) throw new InvalidChannelException(`No channel with id ${channelId}`);
    // Two concurrent loads of one id: the first one registered wins, so every caller gets one object.
    const held = this.channels.get(channelId);
    if (held !== undefined) return held;
    this.channels.set(channelId, loaded);
    return loaded;
  }
}
