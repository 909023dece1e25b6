import {
  ConnectionRepository,
  InMemoryConnectionsFactory,
  InMemoryStorage,
  KvListenerRepository,
  KvQueueRepository,
  SSEChannelRepository,
  type ListenerRegistry,
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
