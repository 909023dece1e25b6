import { describe, expect, it } from '@jest/globals';
import {
  Connection,
  ConnectionRepository,
  InMemoryQueue,
  InMemoryStorage,
  ItemNotFound,
  KvListenerRepository,
  KvQueueRepository,
  Message,
  MessageQueueListener,
  RepositoryError,
  SimpleDistributedApplicationListener,
} from '../../src/index.js';
import { RemoteQueue } from './support.js';

function setup() {
  const storages = {
    connections: new InMemoryStorage(),
    listeners: new InMemoryStorage(),
    queues: new InMemoryStorage(),
  };
  const fresh = () =>
    new ConnectionRepository(
      storages.connections,
      new KvListenerRepository(storages.listeners),
      new KvQueueRepository(storages.queues),
    );
  return { storages, repository: fresh(), fresh };
}

function connection(id: string, listener = new MessageQueueListener(`listener-of-${id}`)): Connection {
  return new Connection(listener, new InMemoryQueue([new Message(`for-${id}`)]), id);
}

describe('ConnectionRepository', () => {
  it('stores { id } under channelId:connectionId and delegates listener and queue', async () => {
    const { storages, repository } = setup();
    await repository.persist('chan', connection('c1', new SimpleDistributedApplicationListener('alice')));
    expect(await storages.connections.fetchOne('chan:c1')).toEqual({ id: 'c1' });
    expect(await storages.listeners.fetchOne('c1')).toEqual({
      id: 'alice',
      type: 'SimpleDistributedApplicationListener',
    });
    expect(await storages.queues.fetchOne('c1')).toEqual({ messages: [{ kind: 'message', type: 'for-c1' }] });
  });

  it('loadOne rebuilds the connection with its id, listener and queue', async () => {
    const { repository, fresh } = setup();
    await repository.persist('chan', connection('c1', new SimpleDistributedApplicationListener('alice')));
    const loaded = await fresh().loadOne('chan', 'c1');
    expect(loaded.id).toBe('c1');
    expect(loaded.listener).toBeInstanceOf(SimpleDistributedApplicationListener);
    expect(loaded.listener.id).toBe('alice');
    expect((loaded.queue as InMemoryQueue).peekAll().map((m) => m.type)).toEqual(['for-c1']);
  });

  it('loadAll returns the channel connections in the order first persisted', async () => {
    const { repository, fresh } = setup();
    await repository.persist('chan', connection('c2'));
    await repository.persist('chan', connection('c1'));
    await repository.persist('other', connection('c3'));
    await repository.persist('chan', connection('c2'));
    const loaded = await fresh().loadAll('chan');
    expect(loaded.map((c) => c.id)).toEqual(['c2', 'c1']);
    expect(loaded.map((c) => c.listener.id)).toEqual(['listener-of-c2', 'listener-of-c1']);
    expect(await fresh().loadIds('chan')).toEqual(['c2', 'c1']);
    expect(await fresh().loadAll('nothing-here')).toEqual([]);
  });

  it('does not mix channels whose ids share a beginning', async () => {
    const { storages, repository } = setup();
    const channelIds = ['a', 'ab', 'a:b', 'a:', 'a%3Ab', '%', 'a%'];
    for (const [index, channelId] of channelIds.entries()) await repository.persist(channelId, connection(`c${index}`));
    for (const [index, channelId] of channelIds.entries()) {
      expect(await repository.loadIds(channelId)).toEqual([`c${index}`]);
      expect((await repository.loadAll(channelId)).map((c) => c.id)).toEqual([`c${index}`]);
    }
    await expect(repository.loadOne('a', 'b:c2')).rejects.toThrow(ItemNotFound);
    expect(await storages.connections.fetchOne('a:c0')).toEqual({ id: 'c0' });
  });

  it('loadOne of a missing connection, or one of another channel, rejects with ItemNotFound', async () => {
    const { repository } = setup();
    await repository.persist('chan', connection('c1'));
    await expect(repository.loadOne('chan', 'c2')).rejects.toThrow(ItemNotFound);
    await expect(repository.loadOne('other', 'c1')).rejects.toThrow(ItemNotFound);
  });

  it('delete removes the record, the listener and the queue, and is idempotent', async () => {
    const { storages, repository } = setup();
    await repository.persist('chan', connection('c1'));
    await repository.persist('chan', connection('c2'));
    await repository.delete('chan', 'c1');
    await repository.delete('chan', 'c1');
    await repository.delete('chan', 'never');
    expect(await repository.loadIds('chan')).toEqual(['c2']);
    await expect(storages.listeners.fetchOne('c1')).rejects.toThrow(ItemNotFound);
    await expect(storages.queues.fetchOne('c1')).rejects.toThrow(ItemNotFound);
    expect(await storages.listeners.fetchOne('c2')).toBeDefined();
  });

  it('a connection whose listener or queue cannot be stored is rejected and no record is written', async () => {
    class Unregistered extends MessageQueueListener {}
    const { storages, repository } = setup();
    await expect(repository.persist('chan', connection('c1', new Unregistered()))).rejects.toThrow(RepositoryError);
    await expect(
      repository.persist('chan', new Connection(new MessageQueueListener(), new RemoteQueue(), 'c2')),
    ).rejects.toThrow(RepositoryError);
    expect(await storages.connections.fetchAll()).toEqual([]);
    expect(await repository.loadAll('chan')).toEqual([]);
  });

  it.each([
    ['not an object', 'c1'],
    ['without id', {}],
    ['with an empty id', { id: '' }],
    ['with a numeric id', { id: 1 }],
  ])('a connection record %s is a RepositoryError', async (_label, record) => {
    const { storages, repository } = setup();
    await storages.connections.upsert('chan:c1', record);
    await expect(repository.loadAll('chan')).rejects.toThrow(/Malformed connection record/);
    await expect(repository.loadIds('chan')).rejects.toThrow(RepositoryError);
    await expect(repository.loadOne('chan', 'c1')).rejects.toThrow(RepositoryError);
  });

  it('a record stored under another connection id is a RepositoryError', async () => {
    const { storages, repository } = setup();
    await repository.persist('chan', connection('c2'));
    await storages.connections.upsert('chan:c1', { id: 'c2' });
    await expect(repository.loadOne('chan', 'c1')).rejects.toThrow(/expected id c1/);
  });

  it('a connection whose listener or queue record is missing rejects with ItemNotFound', async () => {
    const { storages, repository } = setup();
    await repository.persist('chan', connection('c1'));
    await storages.queues.delete('c1');
    await expect(repository.loadAll('chan')).rejects.toThrow(ItemNotFound);
  });
});
