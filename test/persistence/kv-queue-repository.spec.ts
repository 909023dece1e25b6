import { describe, expect, it } from '@jest/globals';
import {
  InMemoryQueue,
  InMemoryStorage,
  ItemNotFound,
  KvQueueRepository,
  Message,
  RepositoryError,
  SignedMessage,
  UniqueMessage,
  type MessageContract,
} from '../../src/index.js';
import { RemoteQueue } from './support.js';

function drain(queue: { popNow?(): MessageContract | undefined }): MessageContract[] {
  const messages: MessageContract[] = [];
  for (let msg = queue.popNow?.(); msg !== undefined; msg = queue.popNow?.()) messages.push(msg);
  return messages;
}

describe('KvQueueRepository', () => {
  it('stores the pending messages in order and loads them into a new InMemoryQueue', async () => {
    const storage = new InMemoryStorage();
    const queue = new InMemoryQueue();
    await queue.push(new Message('first', 1));
    await queue.push(new Message('popped'));
    await queue.push(new SignedMessage('bob', 'second', { a: 1 }));
    await queue.push(new UniqueMessage(new Message('third'), 'carol', 'u-1'));
    expect(queue.popNow()?.type).toBe('first');
    await new KvQueueRepository(storage).persist('c', queue);
    expect(queue.size).toBe(3);

    const loaded = await new KvQueueRepository(storage).load('c');
    expect(loaded).toBeInstanceOf(InMemoryQueue);
    const messages = drain(loaded);
    expect(messages.map((m) => m.type)).toEqual(['popped', 'second', 'third']);
    expect(messages[1]).toBeInstanceOf(SignedMessage);
    expect(messages[1]).toMatchObject({ senderId: 'bob', payload: { a: 1 } });
    expect(messages[2]).toBeInstanceOf(UniqueMessage);
    expect(messages[2]).toMatchObject({ id: 'u-1', senderId: 'carol' });
  });

  it('stores an empty queue as an empty one', async () => {
    const storage = new InMemoryStorage();
    await new KvQueueRepository(storage).persist('c', new InMemoryQueue());
    expect(await storage.fetchOne('c')).toEqual({ messages: [] });
    expect(((await new KvQueueRepository(storage).load('c')) as InMemoryQueue).size).toBe(0);
  });

  it('persisting again replaces the snapshot', async () => {
    const storage = new InMemoryStorage();
    const repository = new KvQueueRepository(storage);
    const queue = new InMemoryQueue([new Message('a'), new Message('b')]);
    await repository.persist('c', queue);
    queue.popNow();
    await queue.push(new Message('c'));
    await repository.persist('c', queue);
    expect(drain(await repository.load('c')).map((m) => m.type)).toEqual(['b', 'c']);
  });

  it('a queue it cannot snapshot is a RepositoryError and stores nothing', async () => {
    const storage = new InMemoryStorage();
    const failure = new KvQueueRepository(storage).persist('c', new RemoteQueue());
    await expect(failure).rejects.toThrow(RepositoryError);
    await expect(failure).rejects.toThrow(/only snapshot an InMemoryQueue, got RemoteQueue/);
    expect(await storage.fetchAll()).toEqual([]);
  });

  it('loading a missing connection rejects with ItemNotFound', async () => {
    await expect(new KvQueueRepository(new InMemoryStorage()).load('nope')).rejects.toThrow(ItemNotFound);
  });

  it.each([
    ['not an object', 3, /expected \{ messages/],
    ['an array', [], /expected \{ messages/],
    ['without messages', {}, /expected \{ messages/],
    ['with a malformed message', { messages: [{ kind: 'message', type: 'ok' }, { kind: 'nope' }] }, /kind must be/],
  ])('loading a record %s is a RepositoryError', async (_label, record, reason) => {
    const repository = new KvQueueRepository(new InMemoryStorage({ c: record }));
    await expect(repository.load('c')).rejects.toThrow(RepositoryError);
    await expect(repository.load('c')).rejects.toThrow(reason);
  });

  it('delete removes the record and is idempotent', async () => {
    const repository = new KvQueueRepository(new InMemoryStorage());
    await repository.persist('c', new InMemoryQueue([new Message('x')]));
    await repository.delete('c');
    await repository.delete('c');
    await expect(repository.load('c')).rejects.toThrow(ItemNotFound);
  });
});
