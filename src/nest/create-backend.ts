import { InMemoryConnectionsFactory, type ConnectionsFactory } from '../core/connection.js';
import { ConnectionRepository } from '../persistence/connection-repository.js';
import { InMemoryStorage } from '../persistence/in-memory-storage.js';
import { KvListenerRepository } from '../persistence/kv-listener-repository.js';
import { KvQueueRepository } from '../persistence/kv-queue-repository.js';
import type { KvStorage } from '../persistence/kv-storage.js';
import { PrefixedStorage } from '../persistence/prefixed-storage.js';
import { SSEChannelRepository } from '../persistence/sse-channel-repository.js';
import type { ResolvedEricSseOptions } from './eric-sse-module-options.js';

/** Where the module's listeners queue and its channels are stored. */
export interface EricSseBackend {
  connectionsFactory: ConnectionsFactory;
  channelRepository: SSEChannelRepository;
}

/**
 * The one place that picks the backend from the options: in memory unless a connections factory or a
 * storage is given. A Redis backend slots in here.
 */
export function createEricSseBackend(options: ResolvedEricSseOptions): EricSseBackend {
  const connectionsFactory = options.connectionsFactory ?? new InMemoryConnectionsFactory();
  return {
    connectionsFactory,
    channelRepository: createChannelRepository(options.storage ?? new InMemoryStorage(), connectionsFactory),
  };
}

/** The repositories share one storage, each under its own key prefix so they never see each other's records. */
function createChannelRepository(storage: KvStorage, connectionsFactory: ConnectionsFactory): SSEChannelRepository {
  const view = (prefix: string): KvStorage => new PrefixedStorage(storage, prefix);
  const connections = new ConnectionRepository(
    view('connections:'),
    new KvListenerRepository(view('listeners:')),
    new KvQueueRepository(view('queues:')),
  );
  return new SSEChannelRepository(view('channels:'), connections, connectionsFactory);
}
