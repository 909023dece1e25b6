import { randomUUID } from 'node:crypto';
import { resolveQueueLimits, type QueueLimits, type ResolvedQueueLimits } from './limits.js';
import { MessageQueueListener } from './listener.js';
import { InMemoryQueue, type Queue } from './queue.js';

/** A listener and its queue, as registered on a channel. */
export class Connection {
  readonly id: string;

  constructor(
    readonly listener: MessageQueueListener,
    readonly queue: Queue,
    id?: string,
  ) {
    this.id = id ?? randomUUID();
  }
}

/** Makes connections: decides which queue a new listener gets. */
export interface ConnectionsFactory {
  /**
   * `channelId` is the channel the connection is made for (channels always give it): a queue kept
   * outside this process (Redis) is named after its channel and listener.
   */
  create(listener?: MessageQueueListener, channelId?: string): Connection;
}

/** Gives each listener an `InMemoryQueue`, bounded by `limits` when given (unbounded by default). */
export class InMemoryConnectionsFactory implements ConnectionsFactory {
  readonly limits: ResolvedQueueLimits;

  /** @throws InvalidConfigurationException for a bad limit. */
  constructor(limits?: QueueLimits) {
    this.limits = resolveQueueLimits(limits);
  }

  create(listener: MessageQueueListener = new MessageQueueListener(), channelId?: string): Connection {
    const { maxSize, overflow } = this.limits;
    if (maxSize === Infinity) return new Connection(listener, new InMemoryQueue());
    const label = `listener ${listener.id}${channelId === undefined ? '' : ` of channel ${channelId}`}`;
    return new Connection(listener, new InMemoryQueue([], { maxSize, overflow, label }));
  }
}
