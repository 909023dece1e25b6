import type { AbstractChannel } from '../core/channel.js';
import { InvalidChannelException } from '../core/errors.js';

/** Holds the channels of an application by id. */
export class ChannelContainer {
  private readonly channels = new Map<string, AbstractChannel>();

  /** Rejects a second channel with an id already held. */
  register(channel: AbstractChannel): void {
    if (this.channels.has(channel.id)) {
      throw new InvalidChannelException(`Channel ${channel.id} is already registered`);
    }
    this.channels.set(channel.id, channel);
  }

  /** Registers each channel whose id is not held yet; skips the others. */
  registerIterable(channels: Iterable<AbstractChannel>): void {
    for (const channel of channels) {
      if (!this.channels.has(channel.id)) this.channels.set(channel.id, channel);
    }
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
}
