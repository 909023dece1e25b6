import { RepositoryError } from '../core/errors.js';
import { InMemoryQueue, type Queue } from '../core/queue.js';
import type { KvStorage } from './kv-storage.js';
import { decodeMessage, encodeMessage, type EncodedMessage } from './message-codec.js';
import { isRecord, malformed } from './record-guards.js';
import type { QueueRepository } from './repositories.js';

/** What is stored per queue: its pending messages, oldest first. */
export interface QueueRecord {
  messages: EncodedMessage[];
}

/**
 * Stores a snapshot of an `InMemoryQueue`'s pending messages and loads them into a new
 * `InMemoryQueue`. Messages pushed after `persist` are only kept by persisting again.
 */
export class KvQueueRepository implements QueueRepository {
  constructor(private readonly storage: KvStorage) {}

  async load(connectionId: string): Promise<Queue> {
    const record = await this.storage.fetchOne(connectionId);
    if (!isRecord(record) || !Array.isArray(record.messages)) {
      throw malformed('queue', record, 'expected { messages: [...] }');
    }
    return new InMemoryQueue(record.messages.map(decodeMessage));
  }

  async persist(connectionId: string, queue: Queue): Promise<void> {
    if (!(queue instanceof InMemoryQueue)) {
      throw new RepositoryError(
        `KvQueueRepository can only snapshot an InMemoryQueue, got ${(queue as object).constructor.name} (connection ${connectionId})`,
      );
    }
    const record: QueueRecord = { messages: queue.peekAll().map(encodeMessage) };
    await this.storage.upsert(connectionId, record);
  }

  async delete(connectionId: string): Promise<void> {
    await this.storage.delete(connectionId);
  }
}
