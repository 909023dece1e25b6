import { ItemNotFound } from '../core/errors.js';
import type { KvStorage } from './kv-storage.js';
import { serializeKvValue } from './serialize-kv-value.js';

/**
 * A `KvStorage` held in this process, in insertion order. Values are kept as JSON text, exactly as a
 * remote backend would keep them: callers get copies, and what cannot be stored in Redis cannot be
 * stored here either.
 */
export class InMemoryStorage implements KvStorage {
  private readonly items = new Map<string, string>();

  constructor(items: Record<string, unknown> = {}) {
    for (const [key, value] of Object.entries(items)) this.items.set(key, serializeKvValue(key, value));
  }

  async fetchByPrefix(prefix: string): Promise<unknown[]> {
    const values: unknown[] = [];
    for (const [key, text] of this.items) if (key.startsWith(prefix)) values.push(JSON.parse(text));
    return values;
  }

  async fetchAll(): Promise<unknown[]> {
    return Array.from(this.items.values(), (text) => JSON.parse(text) as unknown);
  }

  async upsert(key: string, value: unknown): Promise<void> {
    this.items.set(key, serializeKvValue(key, value));
  }

  async fetchOne(key: string): Promise<unknown> {
    const text = this.items.get(key);
    if (text === undefined) throw new ItemNotFound(`No item with key ${key}`);
    return JSON.parse(text);
  }

  async delete(key: string): Promise<void> {
    this.items.delete(key);
  }
}
