import type { MessageQueueListener } from '../core/listener.js';
import type { KvStorage } from './kv-storage.js';
import { defaultListenerRegistry, type ListenerRegistry } from './listener-registry.js';
import { isNonEmptyString, isRecord, malformed } from './record-guards.js';
import type { ListenerRepository } from './repositories.js';

/** What is stored per listener: its id and the type name its class is registered under. */
export interface ListenerRecord {
  id: string;
  type: string;
}

/** Stores listeners as `{ id, type }` and restores them through a `ListenerRegistry`. */
export class KvListenerRepository implements ListenerRepository {
  constructor(
    private readonly storage: KvStorage,
    readonly registry: ListenerRegistry = defaultListenerRegistry,
  ) {}

  async load(connectionId: string): Promise<MessageQueueListener> {
    const record = await this.storage.fetchOne(connectionId);
    if (!isRecord(record)) throw malformed('listener', record, 'not an object');
    if (!isNonEmptyString(record.id)) throw malformed('listener', record, 'id must be a non-empty string');
    if (!isNonEmptyString(record.type)) throw malformed('listener', record, 'type must be a non-empty string');
    return this.registry.create(record.type, record.id);
  }

  async persist(connectionId: string, listener: MessageQueueListener): Promise<void> {
    const record: ListenerRecord = { id: listener.id, type: this.registry.typeNameOf(listener) };
    await this.storage.upsert(connectionId, record);
  }

  async delete(connectionId: string): Promise<void> {
    await this.storage.delete(connectionId);
  }
}
