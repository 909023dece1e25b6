import { describe, expect, it } from '@jest/globals';
import {
  AbstractChannelRepository,
  Connection,
  ConnectionRepository,
  createDefaultListenerRegistry,
  InMemoryConnectionsFactory,
  InMemoryQueue,
  InMemoryStorage,
  ItemNotFound,
  KvListenerRepository,
  KvQueueRepository,
  Message,
  MessageQueueListener,
  PrefixedStorage,
  RepositoryError,
  SignedMessage,
  SimpleDistributedApplicationListener,
  SSEChannel,
  SSEChannelRepository,
  UniqueMessage,
  type ChannelData,
  type ConnectionRepositoryContract,
  type SSEEvent,
} from '../../src/index.js';
import { newStorages, RemoteQueue, sseRepositories, TextChannel } from './support.js';

class ChatListener extends MessageQueueListener {}

function pendingTypes(channel: SSEChannel, listenerId: string): string[] {
  return (channel.getConnection(listenerId).queue as InMemoryQueue).peekAll().map((m) => m.type);
}

describe('SSEChannelRepository: the SPEC §3 reload', () => {
  it('a channel loaded by fresh repositories has the same id, settings, listeners and pending messages', async () => {
    const storages = newStorages();
    const registry = createDefaultListenerRegistry().register('ChatListener', ChatListener);
    const { channels } = sseRepositories(storages, registry);
    const channel = new SSEChannel({ channelId: 'news', streamDelaySeconds: 0.5, retryTimeoutMilliseconds: 3000 });
    const plain = await channel.addListener();
    const alice = new SimpleDistributedApplicationListener('alice');
    await channel.registerListener(alice);
    const chat = new ChatListener('chat');
    await channel.registerListener(chat);
    await channel.broadcast(new Message('hello', { n: 1 }));
    await channel.dispatch('alice', new SignedMessage('bob', 'order', [1, 2]));
    await channel.dispatch('alice', new UniqueMessage(new Message('tracked'), 'bob', 'm-1'));
    await channels.persist(channel);

    const reloaded = await sseRepositories(storages, registry).channels.loadOne('news');
    expect(reloaded).not.toBe(channel);
    expect(reloaded).toBeInstanceOf(SSEChannel);
    expect(reloaded.id).toBe('news');
    expect(reloaded.toData()).toEqual({ channelId: 'news', streamDelaySeconds: 0.5, retryTimeoutMilliseconds: 3000 });
    expect(reloaded.getConnections().map((c) => c.listener.id)).toEqual([plain.id, 'alice', 'chat']);
    expect(reloaded.getConnections().map((c) => c.id)).toEqual(channel.getConnections().map((c) => c.id));
    expect(reloaded.getListener(plain.id).constructor).toBe(MessageQueueListener);
    expect(reloaded.getListener('alice')).toBeInstanceOf(SimpleDistributedApplicationListener);
    expect(reloaded.getListener('chat')).toBeInstanceOf(ChatListener);
    expect(pendingTypes(reloaded, plain.id)).toEqual(['hello']);
    expect(pendingTypes(reloaded, 'chat')).toEqual(['hello']);
    expect(pendingTypes(reloaded, 'alice')).toEqual(['hello', 'order', 'tracked']);
    const [, order, tracked] = (reloaded.getConnection('alice').queue as InMemoryQueue).peekAll();
    expect(order).toBeInstanceOf(SignedMessage);
    expect(order).toMatchObject({ senderId: 'bob', payload: [1, 2] });
    expect(tracked).toMatchObject({ id: 'm-1', senderId: 'bob', type: 'tracked' });
  });

  it('a reloaded listener streams its pending messages, adapted by the reloaded channel', async () => {
    const storages = newStorages();
    const channel = new SSEChannel({ channelId: 'c', retryTimeoutMilliseconds: 42 });
    const listener = await channel.addListener();
    await channel.dispatch(listener.id, new Message('one', 1));
    await channel.dispatch(listener.id, new Message('two', 2));
    await channel.dispatch(listener.id, new Message('bye'));
    await sseRepositories(storages).channels.persist(channel);

    const reloaded = await sseRepositories(storages).channels.loadOne('c');
    const restored = reloaded.getListener(listener.id);
    expect(restored.isRunning()).toBe(false);
    restored.start();
    const events: SSEEvent[] = [];
    for await (const event of reloaded.messageStream(restored)) {
      events.push(event);
      if (event.event === 'bye') restored.stop();
    }
    expect(events).toEqual([
      { event: 'one', retry: 42, data: 1 },
      { event: 'two', retry: 42, data: 2 },
      { event: 'bye', retry: 42, data: undefined },
    ]);
  });

  it('re-registers connections through the channel, so distributed listeners get their channel back', async () => {
    class DistributedRepository extends AbstractChannelRepository {
      create(data: ChannelData) {
        return new (class extends SSEChannel {
          override async registerConnection(connection: Connection): Promise<void> {
            await super.registerConnection(connection);
            if (connection.listener instanceof SimpleDistributedApplicationListener)
              connection.listener.setChannel(this);
          }
        })({ channelId: data.channelId, connectionsFactory: this.connectionsFactory });
      }
    }
    const storages = newStorages();
    const { connections } = sseRepositories(storages);
    const channel = new SSEChannel({ channelId: 'd' });
    await channel.registerListener(new SimpleDistributedApplicationListener('alice'));
    const repository = new DistributedRepository(storages.channels, connections, new InMemoryConnectionsFactory());
    await repository.persist(channel);
    const reloaded = await repository.loadOne('d');
    const alice = reloaded.getListener('alice') as SimpleDistributedApplicationListener;
    expect(alice.getChannel()).toBe(reloaded);
  });

  it('persisting a loaded channel again stores its changes and drops removed listeners', async () => {
    const storages = newStorages();
    const original = new SSEChannel({ channelId: 'room' });
    const staying = await original.addListener();
    const leaving = await original.addListener();
    await original.broadcast(new Message('old'));
    await sseRepositories(storages).channels.persist(original);
    const leavingConnectionId = original.getConnection(leaving.id).id;

    const { channels } = sseRepositories(storages);
    const loaded = await channels.loadOne('room');
    await loaded.removeListener(leaving.id);
    const joining = await loaded.addListener();
    (loaded.getConnection(staying.id).queue as InMemoryQueue).popNow();
    await loaded.broadcast(new Message('new'));
    await channels.persist(loaded);

    const again = await sseRepositories(storages).channels.loadOne('room');
    expect(again.getConnections().map((c) => c.listener.id)).toEqual([staying.id, joining.id]);
    expect(pendingTypes(again, staying.id)).toEqual(['new']);
    expect(pendingTypes(again, joining.id)).toEqual(['new']);
    await expect(storages.listeners.fetchOne(leavingConnectionId)).rejects.toThrow(ItemNotFound);
    await expect(storages.queues.fetchOne(leavingConnectionId)).rejects.toThrow(ItemNotFound);
    expect(await storages.connections.fetchAll()).toHaveLength(2);
    expect(await storages.listeners.fetchAll()).toHaveLength(2);
    expect(await storages.queues.fetchAll()).toHaveLength(2);
  });

  it('works with every repository sharing one storage through prefixes', async () => {
    const backing = new InMemoryStorage();
    const storages = {
      channels: new PrefixedStorage(backing, 'channels:'),
      connections: new PrefixedStorage(backing, 'connections:'),
      listeners: new PrefixedStorage(backing, 'listeners:'),
      queues: new PrefixedStorage(backing, 'queues:'),
    } as unknown as ReturnType<typeof newStorages>;
    const first = new SSEChannel({ channelId: 'one' });
    await first.addListener();
    await sseRepositories(storages).channels.persist(first);
    await sseRepositories(storages).channels.persist(new SSEChannel({ channelId: 'two' }));
    const loaded = await sseRepositories(storages).channels.loadAll();
    expect(loaded.map((c) => [c.id, c.getConnections().length])).toEqual([
      ['one', 1],
      ['two', 0],
    ]);
  });
});

describe('SSEChannelRepository', () => {
  it('exposes its connections factory and repository', () => {
    const { connections, channels } = sseRepositories(newStorages());
    expect(channels).toBeInstanceOf(SSEChannelRepository);
    expect(channels.connectionsRepository).toBe(connections);
    expect(channels.connectionsFactory).toBeInstanceOf(InMemoryConnectionsFactory);
  });

  it('create builds an SSEChannel from its data with the repository factory', () => {
    const { channels } = sseRepositories(newStorages());
    const channel = channels.create({ channelId: 'x', streamDelaySeconds: 1, retryTimeoutMilliseconds: 7 });
    expect(channel).toBeInstanceOf(SSEChannel);
    expect(channel.id).toBe('x');
    expect(channel.streamDelaySeconds).toBe(1);
    expect(channel.retryTimeoutMilliseconds).toBe(7);
    expect(channel.connectionsFactory).toBe(channels.connectionsFactory);
  });

  it('create gives missing delays their defaults', () => {
    const { channels } = sseRepositories(newStorages());
    const channel = channels.create({ channelId: 'x' } as ChannelData);
    expect(channel.streamDelaySeconds).toBe(0);
    expect(channel.retryTimeoutMilliseconds).toBe(5);
  });

  it.each([
    ['not an object', 'x', /not an object/],
    ['null', null, /not an object/],
    ['without channelId', { streamDelaySeconds: 0 }, /channelId must be a non-empty string/],
    ['with an empty channelId', { channelId: '' }, /channelId must be/],
    ['with a negative delay', { channelId: 'x', streamDelaySeconds: -1 }, /streamDelaySeconds/],
    ['with a text retry', { channelId: 'x', retryTimeoutMilliseconds: '5' }, /retryTimeoutMilliseconds/],
    ['that JSON cannot show', { channelId: 5n }, /channelId must be/],
  ])('create with data %s is a RepositoryError', (_label, data, reason) => {
    const { channels } = sseRepositories(newStorages());
    expect(() => channels.create(data as ChannelData)).toThrow(RepositoryError);
    expect(() => channels.create(data as ChannelData)).toThrow(reason);
  });

  it('loadOne of an unknown id rejects with ItemNotFound', async () => {
    const { channels } = sseRepositories(newStorages());
    await expect(channels.loadOne('nope')).rejects.toThrow(ItemNotFound);
  });

  it('loadAll returns every stored channel in insertion order, with its connections', async () => {
    const storages = newStorages();
    const { channels } = sseRepositories(storages);
    const a = new SSEChannel({ channelId: 'a' });
    const ab = new SSEChannel({ channelId: 'ab' });
    await a.addListener();
    await ab.addListener();
    await ab.addListener();
    await channels.persist(ab);
    await channels.persist(a);
    const loaded = await sseRepositories(storages).channels.loadAll();
    expect(loaded.map((c) => c.id)).toEqual(['ab', 'a']);
    expect(loaded.map((c) => c.getConnections().map((x) => x.listener.id))).toEqual([
      ab.getConnections().map((x) => x.listener.id),
      a.getConnections().map((x) => x.listener.id),
    ]);
    expect(await sseRepositories(newStorages()).channels.loadAll()).toEqual([]);
  });

  it('stores the channel toData() under its id', async () => {
    const storages = newStorages();
    await sseRepositories(storages).channels.persist(new SSEChannel({ channelId: 'c', retryTimeoutMilliseconds: 9 }));
    expect(await storages.channels.fetchOne('c')).toEqual({
      channelId: 'c',
      streamDelaySeconds: 0,
      retryTimeoutMilliseconds: 9,
    });
  });

  it('delete removes the channel and its connections, leaves other channels, and is idempotent', async () => {
    const storages = newStorages();
    const { channels } = sseRepositories(storages);
    const doomed = new SSEChannel({ channelId: 'a' });
    const kept = new SSEChannel({ channelId: 'a:b' });
    await doomed.addListener();
    await kept.addListener();
    await channels.persist(doomed);
    await channels.persist(kept);
    await channels.delete('a');
    await channels.delete('a');
    await channels.delete('never');
    await expect(channels.loadOne('a')).rejects.toThrow(ItemNotFound);
    const survivors = await channels.loadAll();
    expect(survivors.map((c) => c.id)).toEqual(['a:b']);
    expect(survivors[0].getConnections()).toHaveLength(1);
    expect(await storages.connections.fetchAll()).toHaveLength(1);
    expect(await storages.listeners.fetchAll()).toHaveLength(1);
    expect(await storages.queues.fetchAll()).toHaveLength(1);
  });

  it('a channel with a listener it cannot store is rejected and no channel record is written', async () => {
    const storages = newStorages();
    const { channels } = sseRepositories(storages);
    const channel = new SSEChannel({ channelId: 'c' });
    await channel.registerListener(new ChatListener());
    await expect(channels.persist(channel)).rejects.toThrow(/ChatListener is not registered/);
    await expect(channels.loadOne('c')).rejects.toThrow(ItemNotFound);
    expect(await channels.loadAll()).toEqual([]);
  });

  it('a channel whose listener type is no longer registered fails to load with a RepositoryError naming it', async () => {
    const storages = newStorages();
    const registry = createDefaultListenerRegistry().register('ChatListener', ChatListener);
    const channel = new SSEChannel({ channelId: 'c' });
    await channel.registerListener(new ChatListener());
    await sseRepositories(storages, registry).channels.persist(channel);
    await expect(sseRepositories(storages).channels.loadOne('c')).rejects.toThrow(
      /Unknown listener type 'ChatListener'/,
    );
  });

  it('a channel with a queue it cannot snapshot is rejected and no channel record is written', async () => {
    const storages = newStorages();
    const channel = new SSEChannel({ channelId: 'q' });
    await channel.registerConnection(new Connection(new MessageQueueListener(), new RemoteQueue()));
    await expect(sseRepositories(storages).channels.persist(channel)).rejects.toThrow(/only snapshot an InMemoryQueue/);
    expect(await storages.channels.fetchAll()).toEqual([]);
  });

  it.each([
    ['not an object', 'x', /not an object/],
    ['without channelId', { streamDelaySeconds: 0 }, /channelId must be/],
  ])('loading a channel record %s is a RepositoryError', async (_label, record, reason) => {
    const storages = newStorages();
    await storages.channels.upsert('c', record);
    const { channels } = sseRepositories(storages);
    await expect(channels.loadOne('c')).rejects.toThrow(RepositoryError);
    await expect(channels.loadOne('c')).rejects.toThrow(reason);
    await expect(channels.loadAll()).rejects.toThrow(reason);
  });

  it('loading a channel record stored under another id is a RepositoryError', async () => {
    const storages = newStorages();
    await storages.channels.upsert('c', { channelId: 'other' });
    await expect(sseRepositories(storages).channels.loadOne('c')).rejects.toThrow(/stored under id c/);
  });
});

describe('AbstractChannelRepository', () => {
  /** A connection repository without the optional loadIds, like a third-party one. */
  class MinimalConnections implements ConnectionRepositoryContract {
    constructor(private readonly inner: ConnectionRepository) {}
    loadAll(channelId: string) {
      return this.inner.loadAll(channelId);
    }
    loadOne(channelId: string, connectionId: string) {
      return this.inner.loadOne(channelId, connectionId);
    }
    persist(channelId: string, connection: Connection) {
      return this.inner.persist(channelId, connection);
    }
    delete(channelId: string, connectionId: string) {
      return this.inner.delete(channelId, connectionId);
    }
  }

  class TextChannelRepository extends AbstractChannelRepository<TextChannel> {
    create(data: ChannelData): TextChannel {
      return new TextChannel({
        channelId: data.channelId,
        streamDelaySeconds: data.streamDelaySeconds,
        connectionsFactory: this.connectionsFactory,
      });
    }
  }

  it('persists, reloads and prunes custom channels through a connection repository without loadIds', async () => {
    const storages = newStorages();
    const fresh = () =>
      new TextChannelRepository(
        storages.channels,
        new MinimalConnections(
          new ConnectionRepository(
            storages.connections,
            new KvListenerRepository(storages.listeners),
            new KvQueueRepository(storages.queues),
          ),
        ),
        new InMemoryConnectionsFactory(),
      );
    const channel = new TextChannel({ channelId: 't' });
    const a = await channel.addListener();
    const b = await channel.addListener();
    await channel.dispatch(b.id, new Message('x', 1));
    await fresh().persist(channel);
    await channel.removeListener(a.id);
    await fresh().persist(channel);

    const reloaded = await fresh().loadOne('t');
    expect(reloaded).toBeInstanceOf(TextChannel);
    expect(reloaded.getConnections().map((c) => c.listener.id)).toEqual([b.id]);
    reloaded.getListener(b.id).start();
    const stream = reloaded.messageStream(b.id);
    expect((await stream.next()).value).toBe('x:1');
    await fresh().delete('t');
    expect(await storages.connections.fetchAll()).toEqual([]);
    expect(await fresh().loadAll()).toEqual([]);
  });
});
