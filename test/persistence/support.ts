import {
  AbstractChannel,
  ConnectionRepository,
  InMemoryConnectionsFactory,
  InMemoryStorage,
  KvListenerRepository,
  KvQueueRepository,
  NoMessagesException,
  SSEChannelRepository,
  type ListenerRegistry,
  type MessageContract,
  type Queue,
} from '../../src/index.js';

/** One storage per repository, as a deployment would have (one Redis namespace each). */
export interface Storages {
  channels: InMemoryStorage;
  connections: InMemoryStorage;
  listeners: InMemoryStorage;
  queues: InMemoryStorage;
}

export function newStorages(): Storages {
  return {
    channels: new InMemoryStorage(),
    connections: new InMemoryStorage(),
    listeners: new InMemoryStorage(),
    queues: new InMemoryStorage(),
  };
}

/** A fresh set of repositories over the given storages, like a new process would build. */
export function sseRepositories(storages: Storages, registry?: ListenerRegistry) {
  const listeners = new KvListenerRepository(storages.listeners, registry);
  const queues = new KvQueueRepository(storages.queues);
  const connections = new ConnectionRepository(storages.connections, listeners, queues);
  const channels = new SSEChannelRepository(storages.channels, connections, new InMemoryConnectionsFactory());
  return { listeners, queues, connections, channels };
}

/** A queue kept somewhere else (no `peekAll`): the KV queue repository cannot snapshot it. */
export class RemoteQueue implements Queue {
  async push(_msg: MessageContract): Promise<void> {}
  async pop(): Promise<MessageContract> {
    throw new NoMessagesException('empty');
  }
  onReady(_callback: () => void): () => void {
    return () => {};
  }
}

/** A custom channel kind: streams yield `type:payload` strings. */
export class TextChannel extends AbstractChannel<string> {
  adapt(msg: MessageContract): string {
    return msg.payload === undefined ? msg.type : `${msg.type}:${JSON.stringify(msg.payload)}`;
  }
}
