import { Connection } from '../core/connection.js';
import type { KvStorage } from './kv-storage.js';
import { isNonEmptyString, isRecord, malformed } from './record-guards.js';
import type { ConnectionRepositoryContract, ListenerRepository, QueueRepository } from './repositories.js';

/** What is stored per connection, under `channelId:connectionId`. */
export interface ConnectionRecord {
  id: string;
}

/**
 * Stores `{ id }` per connection under `channelId:connectionId` and leaves its listener and queue to
 * their repositories.
 *
 * In keys, `%` and `:` of the channel id are escaped (`%25`, `%3A`), so a key's first `:` always ends
 * the channel id: `fetchByPrefix('a:')` cannot return the connections of a channel named `a:b`.
 * Other ids are written as they are.
 */
export class ConnectionRepository implements ConnectionRepositoryContract {
  constructor(
    private readonly storage: KvStorage,
    readonly listenersRepository: ListenerRepository,
    readonly queuesRepository: QueueRepository,
  ) {}

  async loadAll(channelId: string): Promise<Connection[]> {
    const records = await this.storage.fetchByPrefix(channelPrefix(channelId));
    return Promise.all(records.map((record) => this.build(requireRecord(record))));
  }

  async loadOne(channelId: string, connectionId: string): Promise<Connection> {
    const record = requireRecord(await this.storage.fetchOne(connectionKey(channelId, connectionId)));
    if (record.id !== connectionId) throw malformed('connection', record, `expected id ${connectionId}`);
    return this.build(record);
  }

  async loadIds(channelId: string): Promise<string[]> {
    const records = await this.storage.fetchByPrefix(channelPrefix(channelId));
    return records.map((record) => requireRecord(record).id);
  }

  /** Writes the listener and queue before the record, so a failed persist never leaves a record without them. */
  async persist(channelId: string, connection: Connection): Promise<void> {
    await this.listenersRepository.persist(connection.id, connection.listener);
    await this.queuesRepository.persist(connection.id, connection.queue);
    const record: ConnectionRecord = { id: connection.id };
    await this.storage.upsert(connectionKey(channelId, connection.id), record);
  }

  async delete(channelId: string, connectionId: string): Promise<void> {
    await this.storage.delete(connectionKey(channelId, connectionId));
    await this.listenersRepository.delete(connectionId);
    await this.queuesRepository.delete(connectionId);
  }

  private async build(record: ConnectionRecord): Promise<Connection> {
    const [listener, queue] = await Promise.all([
      this.listenersRepository.load(record.id),
      this.queuesRepository.load(record.id),
    ]);
    return new Connection(listener, queue, record.id);
  }
}

function requireRecord(record: unknown): ConnectionRecord {
  if (!isRecord(record) || !isNonEmptyString(record.id)) throw malformed('connection', record, 'expected { id }');
  return { id: record.id };
}

function channelPrefix(channelId: string): string {
  return `${channelId.replaceAll('%', '%25').replaceAll(':', '%3A')}:`;
}

function connectionKey(channelId: string, connectionId: string): string {
  return channelPrefix(channelId) + connectionId;
}
