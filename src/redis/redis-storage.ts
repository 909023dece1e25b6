import { ItemNotFound } from '../core/errors.js';
import { assertNonEmptyString } from '../core/validate.js';
import type { KvStorage } from '../persistence/kv-storage.js';
import { serializeKvValue } from '../persistence/serialize-kv-value.js';
import type { RedisBackend } from './redis-backend.js';
import { redisCall } from './redis-errors.js';

/**
 * A `KvStorage` in Redis: one hash of JSON values and one sorted set keeping insertion order, under
 * `<p>kv:<namespace>:`. Give each repository its own namespace (or a `PrefixedStorage` over one).
 * `fetchByPrefix` and `fetchAll` are one script each; they read every key of the namespace, so keep a
 * namespace to what one repository holds.
 */
export class RedisStorage implements KvStorage {
  private readonly dataKey: string;
  private readonly orderKey: string;

  constructor(
    private readonly backend: RedisBackend,
    readonly namespace = 'default',
  ) {
    assertNonEmptyString(namespace, 'namespace');
    this.dataKey = backend.keys.storageData(namespace);
    this.orderKey = backend.keys.storageOrder(namespace);
  }

  async fetchByPrefix(prefix: string): Promise<unknown[]> {
    const texts = (await redisCall(`read storage ${this.namespace}`, () =>
      this.backend.scripts.run('ericSseStorageFetchByPrefix', [this.dataKey, this.orderKey], [prefix]),
    )) as string[];
    return texts.map((text) => JSON.parse(text) as unknown);
  }

  fetchAll(): Promise<unknown[]> {
    return this.fetchByPrefix('');
  }

  async upsert(key: string, value: unknown): Promise<void> {
    const text = serializeKvValue(key, value);
    await redisCall(`write key ${key} of storage ${this.namespace}`, () =>
      this.backend.scripts.run(
        'ericSseStorageUpsert',
        [this.dataKey, this.orderKey, this.backend.keys.seq],
        [key, text],
      ),
    );
  }

  async fetchOne(key: string): Promise<unknown> {
    const text = await redisCall(`read key ${key} of storage ${this.namespace}`, () =>
      this.backend.client.hget(this.dataKey, key),
    );
    if (text === null) throw new ItemNotFound(`No item with key ${key}`);
    return JSON.parse(text);
  }

  async delete(key: string): Promise<void> {
    await redisCall(`delete key ${key} of storage ${this.namespace}`, () =>
      this.backend.scripts.run('ericSseStorageDelete', [this.dataKey, this.orderKey], [key]),
    );
  }
}
