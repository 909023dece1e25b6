import { describe, expect, it } from '@jest/globals';
import {
  InMemoryStorage,
  InvalidConfigurationException,
  ItemNotFound,
  PrefixedStorage,
  RepositoryError,
} from '../../src/index.js';

describe('InMemoryStorage', () => {
  it('starts with the given items, in insertion order', async () => {
    const storage = new InMemoryStorage({ b: 2, a: { x: [1] } });
    expect(await storage.fetchAll()).toEqual([2, { x: [1] }]);
    expect(await storage.fetchOne('a')).toEqual({ x: [1] });
  });

  it('starts empty by default', async () => {
    expect(await new InMemoryStorage().fetchAll()).toEqual([]);
  });

  it('upsert replaces a value in place and appends new keys', async () => {
    const storage = new InMemoryStorage();
    await storage.upsert('one', 1);
    await storage.upsert('two', 2);
    await storage.upsert('one', 'uno');
    expect(await storage.fetchAll()).toEqual(['uno', 2]);
  });

  it('fetchByPrefix returns only the values whose key starts with the prefix, in insertion order', async () => {
    const storage = new InMemoryStorage({ 'a:2': 'a2', 'b:1': 'b1', 'a:1': 'a1', ab: 'ab' });
    expect(await storage.fetchByPrefix('a:')).toEqual(['a2', 'a1']);
    expect(await storage.fetchByPrefix('a')).toEqual(['a2', 'a1', 'ab']);
    expect(await storage.fetchByPrefix('z')).toEqual([]);
  });

  it('fetchOne on a missing key rejects with ItemNotFound, a RepositoryError naming the key', async () => {
    const storage = new InMemoryStorage({ present: 1 });
    const failure = storage.fetchOne('missing-key');
    await expect(failure).rejects.toBeInstanceOf(ItemNotFound);
    await expect(failure).rejects.toBeInstanceOf(RepositoryError);
    await expect(failure).rejects.toThrow('missing-key');
  });

  it('delete removes a key and is idempotent', async () => {
    const storage = new InMemoryStorage({ a: 1, b: 2 });
    await storage.delete('a');
    await storage.delete('a');
    await storage.delete('never-there');
    expect(await storage.fetchAll()).toEqual([2]);
    await expect(storage.fetchOne('a')).rejects.toBeInstanceOf(ItemNotFound);
  });

  it('stores copies: mutating what was stored or fetched does not change the storage', async () => {
    const value = { list: [1, 2], nested: { n: 1 } };
    const storage = new InMemoryStorage({ seeded: value });
    await storage.upsert('k', value);
    value.list.push(3);
    value.nested.n = 99;
    const fetched = (await storage.fetchOne('k')) as typeof value;
    expect(fetched).toEqual({ list: [1, 2], nested: { n: 1 } });
    fetched.list.push(4);
    (await storage.fetchAll()).forEach((v) => ((v as typeof value).nested.n = 7));
    (await storage.fetchByPrefix('k')).forEach((v) => ((v as typeof value).nested.n = 8));
    expect(await storage.fetchOne('k')).toEqual({ list: [1, 2], nested: { n: 1 } });
    expect(await storage.fetchOne('seeded')).toEqual({ list: [1, 2], nested: { n: 1 } });
  });

  it('keeps values as JSON would, like a remote backend', async () => {
    const storage = new InMemoryStorage();
    await storage.upsert('k', { when: new Date(0), gone: undefined, kept: null });
    expect(await storage.fetchOne('k')).toEqual({ when: '1970-01-01T00:00:00.000Z', kept: null });
  });

  it('rejects a value that is not JSON-compatible with a RepositoryError and keeps the previous value', async () => {
    const storage = new InMemoryStorage({ k: 'before' });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expect(storage.upsert('k', circular)).rejects.toThrow(RepositoryError);
    await expect(storage.upsert('k', undefined)).rejects.toThrow(/key k is not JSON-compatible/);
    await expect(storage.upsert('k', () => 1)).rejects.toThrow(RepositoryError);
    await expect(storage.upsert('k', 10n)).rejects.toThrow(RepositoryError);
    expect(await storage.fetchOne('k')).toBe('before');
    expect(() => new InMemoryStorage({ bad: undefined })).toThrow(RepositoryError);
  });
});

describe('PrefixedStorage', () => {
  it('namespaces every key inside the backing storage', async () => {
    const backing = new InMemoryStorage({ other: 'x' });
    const listeners = new PrefixedStorage(backing, 'listeners:');
    const queues = new PrefixedStorage(backing, 'queues:');
    await listeners.upsert('c1', 'L1');
    await queues.upsert('c1', 'Q1');
    await listeners.upsert('c2', 'L2');
    expect(await listeners.fetchOne('c1')).toBe('L1');
    expect(await queues.fetchOne('c1')).toBe('Q1');
    expect(await listeners.fetchAll()).toEqual(['L1', 'L2']);
    expect(await listeners.fetchByPrefix('c2')).toEqual(['L2']);
    expect(await backing.fetchOne('listeners:c1')).toBe('L1');
    await listeners.delete('c1');
    await expect(listeners.fetchOne('c1')).rejects.toThrow(ItemNotFound);
    expect(await queues.fetchOne('c1')).toBe('Q1');
    expect(await backing.fetchAll()).toEqual(['x', 'Q1', 'L2']);
  });

  it('rejects an empty prefix', () => {
    expect(() => new PrefixedStorage(new InMemoryStorage(), '')).toThrow(InvalidConfigurationException);
  });
});
