import { randomUUID } from 'node:crypto';
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

export class InMemoryConnectionsFactory implements ConnectionsFactory {
  create(listener: MessageQueueListener = new MessageQueueListener(), _channelId?: string): Connection {
    return new Connection(listener, new InMemoryQueue());
  }
}
