import { describe, expect, it } from '@jest/globals';
import {
  createDefaultListenerRegistry,
  defaultListenerRegistry,
  InMemoryStorage,
  ItemNotFound,
  KvListenerRepository,
  MessageQueueListener,
  RepositoryError,
  SimpleDistributedApplicationListener,
} from '../../src/index.js';

class ChatListener extends MessageQueueListener {}

describe('KvListenerRepository', () => {
  it('stores { id, type } under the connection id and loads the same class with the same id', async () => {
    const storage = new InMemoryStorage();
    const repository = new KvListenerRepository(storage);
    expect(repository.registry).toBe(defaultListenerRegistry);
    const listener = new SimpleDistributedApplicationListener('alice');
    await repository.persist('conn-1', listener);
    expect(await storage.fetchOne('conn-1')).toEqual({ id: 'alice', type: 'SimpleDistributedApplicationListener' });
    const loaded = await new KvListenerRepository(storage).load('conn-1');
    expect(loaded).toBeInstanceOf(SimpleDistributedApplicationListener);
    expect(loaded).not.toBe(listener);
    expect(loaded.id).toBe('alice');
  });

  it('restores custom classes through the given registry', async () => {
    const storage = new InMemoryStorage();
    const registry = createDefaultListenerRegistry().register('chat', ChatListener);
    await new KvListenerRepository(storage, registry).persist('c', new ChatListener('l'));
    const loaded = await new KvListenerRepository(storage, registry).load('c');
    expect(loaded).toBeInstanceOf(ChatListener);
    expect(loaded.id).toBe('l');
  });

  it('persisting a listener of an unregistered class is a RepositoryError and stores nothing', async () => {
    const storage = new InMemoryStorage();
    await expect(new KvListenerRepository(storage).persist('c', new ChatListener())).rejects.toThrow(
      /ChatListener is not registered/,
    );
    expect(await storage.fetchAll()).toEqual([]);
  });

  it('loading an unknown type name is a RepositoryError naming it', async () => {
    const storage = new InMemoryStorage({ c: { id: 'l', type: 'GoneListener' } });
    const failure = new KvListenerRepository(storage).load('c');
    await expect(failure).rejects.toThrow(RepositoryError);
    await expect(failure).rejects.toThrow(/'GoneListener'/);
  });

  it('loading a missing connection rejects with ItemNotFound', async () => {
    await expect(new KvListenerRepository(new InMemoryStorage()).load('nope')).rejects.toThrow(ItemNotFound);
  });

  it.each([
    ['not an object', 'x', /not an object/],
    ['without id', { type: 'MessageQueueListener' }, /id must be/],
    ['with an empty id', { id: '', type: 'MessageQueueListener' }, /id must be/],
    ['without type', { id: 'l' }, /type must be/],
    ['with a numeric type', { id: 'l', type: 1 }, /type must be/],
  ])('loading a record %s is a RepositoryError', async (_label, record, reason) => {
    const repository = new KvListenerRepository(new InMemoryStorage({ c: record }));
    await expect(repository.load('c')).rejects.toThrow(RepositoryError);
    await expect(repository.load('c')).rejects.toThrow(reason);
  });

  it('delete removes the record and is idempotent', async () => {
    const storage = new InMemoryStorage();
    const repository = new KvListenerRepository(storage);
    await repository.persist('c', new MessageQueueListener());
    await repository.delete('c');
    await repository.delete('c');
    await expect(repository.load('c')).rejects.toThrow(ItemNotFound);
  });
});
