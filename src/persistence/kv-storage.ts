/**
 * A key-value store of JSON-compatible values. Every operation is async so that a remote backend
 * (Redis) can implement it; `InMemoryStorage` is the default.
 */
export interface KvStorage {
  /** The values whose key starts with `prefix`, in insertion order. */
  fetchByPrefix(prefix: string): Promise<unknown[]>;
  /** Every value, in insertion order. */
  fetchAll(): Promise<unknown[]>;
  /** Stores `value` under `key`, replacing any value already there. */
  upsert(key: string, value: unknown): Promise<void>;
  /** The value under `key`; rejects with `ItemNotFound` when there is none. */
  fetchOne(key: string): Promise<unknown>;
  /** Removes `key`; removing a missing key is not an error. */
  delete(key: string): Promise<void>;
}
