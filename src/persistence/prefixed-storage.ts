import { assertNonEmptyString } from '../core/validate.js';
import type { KvStorage } from './kv-storage.js';

/**
 * A view of another storage in which every key starts with `prefix`, so that several repositories
 * can share one backing storage without seeing each other's records. No prefix may start with
 * another one (end them with a separator: `'listeners:'`, `'queues:'`).
 */
export class PrefixedStorage implements KvStorage {
  constructor(
    readonly storage: KvStorage,
    readonly prefix: string,
  ) {
    assertNonEmptyString(prefix, 'prefix');
  }

  fetchByPrefix(prefix: string): Promise<unknown[]> {
    return this.storage.fetchByPrefix(this.prefix + prefix);
  }

  fetchAll(): Promise<unknown[]> {
    return this.storage.fetchByPrefix(this.prefix);
  }

  upsert(key: string, value: unknown): Promise<void> {
    return this.storage.upsert(this.prefix + key, value);
  }

  fetchOne(key: string): Promise<unknown> {
    return this.storage.fetchOne(this.prefix + key);
  }

  delete(key: string): Promise<void> {
    return this.storage.delete(this.prefix + key);
  }
}
