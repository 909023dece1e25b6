import type { ChannelContainer, InMemoryQueue } from '../../../src/index.js';
import { abbreviate } from './deadline.js';
import { fingerprint } from './fingerprint.js';

/** A message the harness expects in a listener's queue. `payload` is undefined when the command had none. */
export interface ExpectedMessage {
  type: string;
  payload: unknown;
}

/** Which channel a command targets: one the model holds (by index, wrapping), or an arbitrary id. */
export type ChannelRef = { known: number } | { unknown: string };

/** Which listener: one of the channel's, one of another channel's, or an arbitrary id. */
export type ListenerRef = { known: number } | { foreign: number } | { unknown: string };

/** Ids that no server ever hands out (ids the server makes are UUIDs; the fuzzers never create these). */
export const MISSING_CHANNEL = 'missing-channel';
export const MISSING_LISTENER = 'missing-listener';

export function describeChannelRef(ref: ChannelRef): string {
  return 'known' in ref ? `ch#${ref.known}` : `ch${abbreviate(ref.unknown, 20)}`;
}

export function describeListenerRef(ref: ListenerRef): string {
  if ('known' in ref) return `l#${ref.known}`;
  if ('foreign' in ref) return `other-channel-l#${ref.foreign}`;
  return `l${abbreviate(ref.unknown, 20)}`;
}

/** What a container holds, in a form `toEqual` compares and prints readably (payloads as digests). */
export interface ChannelView {
  id: string;
  listeners: { id: string; running: boolean; queued: string[] }[];
}

function describeMessage(msg: ExpectedMessage): string {
  return `${abbreviate(msg.type, 20)} ${fingerprint(msg.payload)}`;
}

/**
 * What the accepted commands should have left on the server: channels in creation order, each with its
 * listeners in registration order, each with its queued messages oldest first.
 */
export class ChannelsModel {
  private channels = new Map<string, Map<string, ExpectedMessage[]>>();

  get channelIds(): string[] {
    return [...this.channels.keys()];
  }

  hasChannel(channelId: string): boolean {
    return this.channels.has(channelId);
  }

  hasListener(channelId: string, listenerId: string): boolean {
    return this.channels.get(channelId)?.has(listenerId) ?? false;
  }

  listenerIds(channelId: string): string[] {
    return [...(this.channels.get(channelId)?.keys() ?? [])];
  }

  queued(channelId: string, listenerId: string): ExpectedMessage[] {
    return this.channels.get(channelId)?.get(listenerId) ?? [];
  }

  resolveChannel(ref: ChannelRef): string {
    if ('unknown' in ref) return ref.unknown;
    const ids = this.channelIds;
    return ids.length === 0 ? MISSING_CHANNEL : ids[ref.known % ids.length];
  }

  resolveListener(channelId: string, ref: ListenerRef): string {
    if ('unknown' in ref) return ref.unknown;
    const ids =
      'known' in ref
        ? this.listenerIds(channelId)
        : this.channelIds.filter((id) => id !== channelId).flatMap((id) => this.listenerIds(id));
    const index = 'known' in ref ? ref.known : ref.foreign;
    return ids.length === 0 ? MISSING_LISTENER : ids[index % ids.length];
  }

  addChannel(channelId: string): void {
    this.channels.set(channelId, new Map());
  }

  removeChannel(channelId: string): void {
    this.channels.delete(channelId);
  }

  addListener(channelId: string, listenerId: string): void {
    this.channels.get(channelId)?.set(listenerId, []);
  }

  removeListener(channelId: string, listenerId: string): void {
    this.channels.get(channelId)?.delete(listenerId);
  }

  dispatch(channelId: string, listenerId: string, msg: ExpectedMessage): void {
    this.channels.get(channelId)?.get(listenerId)?.push(msg);
  }

  broadcast(channelId: string, msg: ExpectedMessage): void {
    for (const queue of this.channels.get(channelId)?.values() ?? []) queue.push(msg);
  }

  /** The listener's queue is emptied (a stream delivered it); returns what it held. */
  drain(channelId: string, listenerId: string): ExpectedMessage[] {
    const queue = this.channels.get(channelId)?.get(listenerId);
    if (queue === undefined) return [];
    return queue.splice(0);
  }

  /** Takes the container's state as the truth (after a command whose effect the harness does not predict). */
  resyncFrom(container: ChannelContainer): void {
    this.channels = new Map(
      container.getAllIds().map((channelId) => [
        channelId,
        new Map(
          container
            .get(channelId)
            .getConnections()
            .map(({ listener, queue }) => [
              listener.id,
              (queue as InMemoryQueue).peekAll().map(({ type, payload }) => ({ type, payload })),
            ]),
        ),
      ]),
    );
  }

  /** The model as `viewOf(container)` should show it: no listener running between commands. */
  view(): ChannelView[] {
    return [...this.channels].map(([id, listeners]) => ({
      id,
      listeners: [...listeners].map(([listenerId, queue]) => ({
        id: listenerId,
        running: false,
        queued: queue.map(describeMessage),
      })),
    }));
  }

  clear(): void {
    this.channels.clear();
  }
}

export function viewOf(container: ChannelContainer): ChannelView[] {
  return container.getAllIds().map((id) => ({
    id,
    listeners: container
      .get(id)
      .getConnections()
      .map(({ listener, queue }) => ({
        id: listener.id,
        running: listener.isRunning(),
        queued: (queue as InMemoryQueue).peekAll().map(({ type, payload }) => describeMessage({ type, payload })),
      })),
  }));
}

/** Empties a container between runs: every listener removed (and so stopped), every channel removed. */
export async function emptyContainer(container: ChannelContainer): Promise<void> {
  for (const channelId of container.getAllIds()) {
    const channel = container.get(channelId);
    for (const { listener } of channel.getConnections()) await channel.removeListener(listener.id);
    container.rm(channelId);
  }
}
