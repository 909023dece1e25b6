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
  create(listener?: MessageQueueListener): Connection;
}

export class InMemoryConnectionsFactory implements ConnectionsFactory {
  create(listener: MessageQueueListener = new MessageQueueListener()): Connection {
    return new Connection(listener, new InMemoryQueue());
  }
}
