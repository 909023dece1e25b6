import { afterEach, describe, expect, it } from '@jest/globals';
import {
  InMemoryConnectionsFactory,
  InvalidChannelException,
  InvalidConfigurationException,
  InvalidListenerException,
  ItemNotFound,
  ListenerRegistry,
  Message,
  MessageQueueListener,
  RedisSSEChannel,
  RedisSimpleDistributedApplicationChannel,
  RepositoryError,
  SSEChannel,
  SignedMessage,
  SimpleDistributedApplicationListener,
  type RedisBackend,
  type RedisChannel,
  type SSEEvent,
} from '../../src/index.js';
import { CommandMonitor } from './monitor.js';
import { describeWithRedis } from './redis-server.js';
import { Backends, uniquePrefix, useRedisServer } from './support.js';

/** Collects a stream's event names until it ends. */
async function eventsOf(stream: AsyncIterable<SSEEvent>): Promise<string[]> {
  const events: string[] = [];
  for await (const event of stream) events.push(event.event);
  return events;
}

describeWithRedis('Redis channels', () => {
  const redisServer = useRedisServer();
  const backends = new Backends();
  let a: RedisBackend;
  let b: RedisBackend;
  let prefix: string;

  afterEach(async () => {
    await backends.closeAll();
  });

  /** Two processes' backends on one Redis and prefix. */
  async function twoProcesses(): Promise<void> {
    prefix = uniquePrefix();
    a = await backends.connect(redisServer.url, prefix);
    b = await backends.connect(redisServer.url, prefix);
  }

  async function channelOnA(data: Parameters<RedisBackend['channelRepository']['create']>[0] = {}) {
    const channel = a.channelRepository.create(data);
    await a.channelRepository.add(channel);
    return channel;
  }

  describe('repository', () => {
    it('creates channels of each kind with their settings, and another process loads them as they were', async () => {
      await twoProcesses();
      await channelOnA({ channelId: 'news', streamDelaySeconds: 0.5, retryTimeoutMilliseconds: 9 });
      await channelOnA({ channelId: 'talk', kind: 'SimpleDistributedApplicationChannel' });
      const [news, talk] = await b.channelRepository.loadAll();
      expect(news).toBeInstanceOf(RedisSSEChannel);
      expect(news.toData()).toEqual({ channelId: 'news', streamDelaySeconds: 0.5, retryTimeoutMilliseconds: 9 });
      expect(talk).toBeInstanceOf(RedisSimpleDistributedApplicationChannel);
      expect(talk.id).toBe('talk');
      expect(await b.channelRepository.listIds()).toEqual(['news', 'talk']);
    });

    it('gives a fresh UUID to a channel created without an id', async () => {
      await twoProcesses();
      expect(a.channelRepository.create({}).id).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('refuses an unknown kind and bad settings with InvalidConfigurationException', async () => {
      await twoProcesses();
      expect(() => a.channelRepository.create({ kind: 'Nope' })).toThrow(InvalidConfigurationException);
      expect(() => a.channelRepository.create({ streamDelaySeconds: -1 })).toThrow(/streamDelaySeconds/);
      expect(await a.channelRepository.listIds()).toEqual([]);
    });

    it('refuses a taken id, also one taken by another process, leaving the first channel as it was', async () => {
      await twoProcesses();
      await channelOnA({ channelId: 'x', retryTimeoutMilliseconds: 1 });
      const again = b.channelRepository.add(
        b.channelRepository.create({ channelId: 'x', retryTimeoutMilliseconds: 2 }),
      );
      await expect(again).rejects.toBeInstanceOf(InvalidChannelException);
      expect((await b.channelRepository.loadOne('x')).retryTimeoutMilliseconds).toBe(1);
    });

    it('refuses to store a channel that is not one of its own', async () => {
      await twoProcesses();
      await expect(a.channelRepository.add(new SSEChannel() as unknown as RedisChannel)).rejects.toThrow(
        InvalidConfigurationException,
      );
      await expect(a.channelRepository.add(b.channelRepository.create({}))).rejects.toThrow(/not a Redis channel/);
      expect(await a.channelRepository.listIds()).toEqual([]);
    });

    it('loads one object per id, undefined / ItemNotFound for an unknown id', async () => {
      await twoProcesses();
      const created = await channelOnA({ channelId: 'one' });
      expect(await a.channelRepository.load('one')).toBe(created);
      const onB = await b.channelRepository.load('one');
      expect(await b.channelRepository.load('one')).toBe(onB);
      expect(await b.channelRepository.load('nope')).toBeUndefined();
      await expect(b.channelRepository.loadOne('nope')).rejects.toBeInstanceOf(ItemNotFound);
    });

    it('persist updates settings in place and creates a channel that is new', async () => {
      await twoProcesses();
      await channelOnA({ channelId: 'first' });
      await a.channelRepository.persist(a.channelRepository.create({ channelId: 'second' }));
      await a.channelRepository.persist(
        a.channelRepository.create({ channelId: 'first', retryTimeoutMilliseconds: 42 }),
      );
      expect(await b.channelRepository.listIds()).toEqual(['first', 'second']);
      expect((await b.channelRepository.loadOne('first')).retryTimeoutMilliseconds).toBe(42);
    });

    it('reports a malformed stored channel as a RepositoryError', async () => {
      await twoProcesses();
      await a.client.hset(a.keys.channels, 'bad', '{"kind":"SSEChannel"}');
      await a.client.hset(a.keys.channels, 'worse', 'not json');
      await a.client.hset(a.keys.channels, 'odd', '{"kind":"SSEChannel","data":{"streamDelaySeconds":-3}}');
      await expect(b.channelRepository.load('bad')).rejects.toThrow(RepositoryError);
      await expect(b.channelRepository.load('worse')).rejects.toThrow(/not JSON/);
      await expect(b.channelRepository.load('odd')).rejects.toThrow(/streamDelaySeconds/);
    });

    it('keeps applications with different key prefixes apart', async () => {
      await twoProcesses();
      await channelOnA({ channelId: 'mine' });
      const other = await backends.connect(redisServer.url, uniquePrefix());
      expect(await other.channelRepository.listIds()).toEqual([]);
      expect(await other.channelRepository.load('mine')).toBeUndefined();
    });

    it('removes a channel with its listeners and queues: nothing is left under the prefix', async () => {
      await twoProcesses();
      const channel = await channelOnA({ channelId: 'gone' });
      const listener = await channel.addListener();
      await channel.dispatch(listener.id, new Message('pending'));
      expect(await b.channelRepository.remove('gone')).toBe(true);
      expect(await b.channelRepository.remove('gone')).toBe(false);
      await b.channelRepository.delete('gone');
      const left = (await a.client.keys(`${prefix}*`)).filter((key) => key !== a.keys.seq);
      expect(left).toEqual([]);
      await expect(channel.dispatch(listener.id, new Message('late'))).rejects.toBeInstanceOf(InvalidChannelException);
      await expect(channel.broadcast(new Message('late'))).rejects.toBeInstanceOf(InvalidChannelException);
      await expect(channel.listListenerIds()).rejects.toBeInstanceOf(InvalidChannelException);
      await expect(channel.addListener()).rejects.toBeInstanceOf(InvalidChannelException);
    });

    it('serves the persistence contract through its connections repository', async () => {
      await twoProcesses();
      const channel = await channelOnA({ channelId: 'c' });
      const first = await channel.addListener();
      const connections = b.channelRepository.connectionsRepository;
      expect(await connections.loadIds?.('c')).toEqual([first.id]);
      expect((await connections.loadOne('c', first.id)).listener.id).toBe(first.id);
      await expect(connections.loadOne('c', 'nope')).rejects.toBeInstanceOf(ItemNotFound);
      const extra = b.connectionsFactory.create(new MessageQueueListener('extra'), 'c');
      await connections.persist('c', extra);
      await connections.persist('c', extra);
      expect((await connections.loadAll('c')).map((c) => c.listener.id)).toEqual([first.id, 'extra']);
      await connections.delete('c', 'extra');
      await connections.delete('c', 'extra');
      await connections.delete('nope', 'extra');
      expect(await channel.listListenerIds()).toEqual([first.id]);
    });
  });

  describe('listeners', () => {
    it('are listed in registration order by every process', async () => {
      await twoProcesses();
      const channel = await channelOnA();
      const ids = [(await channel.addListener()).id, (await channel.addListener()).id];
      const onB = await b.channelRepository.loadOne(channel.id);
      ids.push((await onB.addListener()).id);
      expect(await channel.listListenerIds()).toEqual(ids);
      expect(await onB.listListenerIds()).toEqual(ids);
      expect(channel.getConnections().map((c) => c.listener.id)).toEqual(ids.slice(0, 2));
    });

    it('a watch is registered in Redis before watch() resolves: a broadcast from another process made before the first read reaches it, and leaving removes it', async () => {
      await twoProcesses();
      const channel = await channelOnA();
      const stream = await channel.watch();
      const onB = await b.channelRepository.loadOne(channel.id);
      const [watcherId] = await onB.listListenerIds();
      expect(watcherId).toBeDefined();
      await onB.broadcast(new Message('early', 1));
      await onB.dispatch(watcherId, new Message('direct', 2));
      expect((await stream.next()).value).toMatchObject({ event: 'early', data: 1 });
      expect((await stream.next()).value).toMatchObject({ event: 'direct', data: 2 });
      await stream.return(undefined);
      expect(await onB.listListenerIds()).toEqual([]);
    });

    it('are resolved in another process as the class they were stored as', async () => {
      await twoProcesses();
      const channel = await channelOnA({ kind: 'SimpleDistributedApplicationChannel' });
      await channel.registerListener(new SimpleDistributedApplicationListener('alice'));
      const onB = await b.channelRepository.loadOne(channel.id);
      expect(onB.hasListener('alice')).toBe(false);
      const [first, second] = await Promise.all([onB.resolveConnection('alice'), onB.resolveConnection('alice')]);
      expect(first).toBe(second);
      expect(first.listener).toBeInstanceOf(SimpleDistributedApplicationListener);
      expect((first.listener as SimpleDistributedApplicationListener).getChannel()).toBe(onB);
      expect(onB.getListener('alice')).toBe(first.listener);
      expect(await onB.resolveConnection('alice')).toBe(first);
      await expect(onB.resolveConnection('bob')).rejects.toBeInstanceOf(InvalidListenerException);
    });

    it('of a class the registry does not know cannot be stored (RepositoryError) nor loaded', async () => {
      await twoProcesses();
      class Custom extends MessageQueueListener {}
      const channel = await channelOnA();
      await expect(channel.registerListener(new Custom('c1'))).rejects.toThrow(RepositoryError);
      expect(await channel.listListenerIds()).toEqual([]);
      const registry = new ListenerRegistry().register('Custom', Custom);
      const withCustom = await backends.connect(redisServer.url, prefix, { listenerRegistry: registry });
      const onCustom = await withCustom.channelRepository.loadOne(channel.id);
      await onCustom.registerListener(new Custom('c1'));
      await expect(channel.resolveConnection('c1')).rejects.toThrow(/Unknown listener type 'Custom'/);
    });

    it('registered twice in one process is an InvalidListenerException; in another, it is taken back', async () => {
      await twoProcesses();
      const channel = await channelOnA();
      await channel.registerListener(new MessageQueueListener('l'));
      await expect(channel.registerListener(new MessageQueueListener('l'))).rejects.toBeInstanceOf(
        InvalidListenerException,
      );
      await channel.dispatch('l', new Message('kept'));
      const onB = await b.channelRepository.loadOne(channel.id);
      await onB.registerListener(new MessageQueueListener('l'));
      expect(await onB.listListenerIds()).toEqual(['l']);
      expect(await onB.getConnection('l').queue.pop()).toEqual(new Message('kept'));
      await expect(onB.registerListener(new SimpleDistributedApplicationListener('l'))).rejects.toThrow(
        InvalidListenerException,
      );
    });

    it('are stored as the type they are: taking one back as another class is refused', async () => {
      await twoProcesses();
      const channel = await channelOnA();
      await channel.registerListener(new MessageQueueListener('l'));
      const onB = await b.channelRepository.loadOne(channel.id);
      await expect(onB.registerListener(new SimpleDistributedApplicationListener('l'))).rejects.toThrow(
        /stored as a MessageQueueListener, not a SimpleDistributedApplicationListener/,
      );
      expect(onB.hasListener('l')).toBe(false);
    });

    it('need connections from the backend: another queue is refused and nothing is stored', async () => {
      await twoProcesses();
      const channel = await channelOnA();
      await expect(channel.registerConnection(new InMemoryConnectionsFactory().create())).rejects.toThrow(
        InvalidConfigurationException,
      );
      const foreign = b.connectionsFactory.create(undefined, channel.id);
      await expect(channel.registerConnection(foreign)).rejects.toThrow(/RedisConnectionsFactory/);
      const elsewhere = a.connectionsFactory.create(undefined, 'another-channel');
      await expect(channel.registerConnection(elsewhere)).rejects.toThrow(InvalidConfigurationException);
      expect(await channel.listListenerIds()).toEqual([]);
    });

    it('removed in one process: gone from Redis, and its stream in another process ends', async () => {
      await twoProcesses();
      const channel = await channelOnA();
      const listener = await channel.addListener();
      await channel.dispatch(listener.id, new Message('first'));
      const onB = await b.channelRepository.loadOne(channel.id);
      const connection = await onB.resolveConnection(listener.id);
      connection.listener.start();
      const stream = onB.messageStream(connection.listener);
      expect((await stream.next()).value).toMatchObject({ event: 'first' });
      const rest = stream.next();
      await channel.removeListener(listener.id);
      expect(await rest).toEqual({ done: true, value: undefined });
      expect(onB.hasListener(listener.id)).toBe(false);
      expect(await onB.listListenerIds()).toEqual([]);
      expect(await a.client.exists(a.keys.queue(channel.id, listener.id))).toBe(0);
      await expect(channel.removeListener(listener.id)).rejects.toBeInstanceOf(InvalidListenerException);
      await expect(onB.dispatch(listener.id, new Message('late'))).rejects.toBeInstanceOf(InvalidListenerException);
    });
  });

  describe('messages', () => {
    it('dispatched by one process reach the stream of another; unknown ids fail and queue nothing', async () => {
      await twoProcesses();
      const channel = await channelOnA();
      const listener = await channel.addListener();
      const onB = await b.channelRepository.loadOne(channel.id);
      const { listener: remote } = await onB.resolveConnection(listener.id);
      remote.start();
      const stream = onB.messageStream(remote);
      const first = stream.next();
      await channel.dispatch(listener.id, new Message('hello', { to: 'you' }));
      expect((await first).value).toEqual({ event: 'hello', retry: 5, data: { to: 'you' } });
      await expect(channel.dispatch('nope', new Message('x'))).rejects.toBeInstanceOf(InvalidListenerException);
      expect(await a.client.keys(`${prefix}queue:*nope`)).toEqual([]);
      remote.stop();
      await stream.return(undefined);
    });

    it('broadcast reach every listener of every process and say how many', async () => {
      await twoProcesses();
      const channel = await channelOnA();
      const local = await channel.addListener();
      const onB = await b.channelRepository.loadOne(channel.id);
      const remote = await onB.addListener();
      expect(await onB.broadcastAndCount(new Message('all', 1))).toBe(2);
      await channel.broadcast(new Message('again'));
      expect(await channel.getConnection(local.id).queue.pop()).toEqual(new Message('all', 1));
      expect(await onB.getConnection(remote.id).queue.pop()).toEqual(new Message('all', 1));
      expect(await onB.getConnection(remote.id).queue.pop()).toEqual(new Message('again'));
    });

    it('broadcast to many listeners is one command and one publish', async () => {
      await twoProcesses();
      const channel = await channelOnA();
      const onB = await b.channelRepository.loadOne(channel.id);
      for (let i = 0; i < 50; i++) await (i % 2 === 0 ? channel : onB).addListener();
      const [firstId] = await channel.listListenerIds();
      // The first run of a script on a connection sends the script itself (EVAL), later ones its hash.
      await channel.broadcast(new Message('warm-up'));
      await channel.dispatch(firstId, new Message('warm-up'));
      const monitor = await CommandMonitor.start(redisServer.url);
      try {
        await monitor.settle();
        monitor.reset();
        expect(await channel.broadcastAndCount(new Message('counted'))).toBe(50);
        await monitor.settle();
        expect(monitor.commands()).toEqual(['evalsha']);
        const calls = monitor.scriptCalls();
        expect(calls.filter((name) => name === 'rpush')).toHaveLength(50);
        expect(calls.filter((name) => name === 'publish')).toHaveLength(1);
        monitor.reset();
        await channel.dispatch(firstId, new Message('one'));
        await monitor.settle();
        expect(monitor.commands()).toEqual(['evalsha']);
      } finally {
        await monitor.stop();
      }
    });

    it('drive the distributed-application conversation across two processes', async () => {
      await twoProcesses();
      const channel = await channelOnA({ channelId: 'talk', kind: 'SimpleDistributedApplicationChannel' });
      const alice = new SimpleDistributedApplicationListener('alice');
      alice.setAction('hello', (msg) => [new Message('hello_ack', `${String(msg.payload)}!`), new Message('stop')]);
      await channel.registerListener(alice);
      const onB = await b.channelRepository.loadOne('talk');
      const bob = new SimpleDistributedApplicationListener('bob');
      bob.setAction('hello_ack', () => [new Message('stop')]);
      await onB.registerListener(bob);
      alice.start();
      bob.start();
      const aliceEvents = eventsOf(channel.messageStream(alice));
      const bobEvents = eventsOf(onB.messageStream(bob));
      await bob.dispatchTo('alice', new Message('hello', 'hi'));
      await bob.dispatchTo('alice', new Message('stop'));
      expect(await aliceEvents).toEqual(['hello', 'stop']);
      expect(await bobEvents).toEqual(['hello_ack', 'stop']);
      // Bob's answer to hello_ack reached Alice after she had stopped: it waits in her queue.
      expect(await channel.getConnection('alice').queue.pop()).toEqual(new SignedMessage('bob', 'stop'));
    });
  });

  it('keeps channels, listeners and pending messages when every process stops and starts again', async () => {
    await twoProcesses();
    const channel = await channelOnA({ channelId: 'durable', retryTimeoutMilliseconds: 3 });
    const first = await channel.addListener();
    const onB = await b.channelRepository.loadOne('durable');
    const second = await onB.addListener();
    await channel.dispatch(first.id, new Message('for-first', 1));
    await onB.broadcast(new Message('for-all'));
    await backends.closeAll();

    const restarted = await backends.connect(redisServer.url, prefix);
    const loaded = await restarted.channelRepository.loadOne('durable');
    expect(loaded.retryTimeoutMilliseconds).toBe(3);
    expect(await loaded.listListenerIds()).toEqual([first.id, second.id]);
    const firstQueue = (await loaded.resolveConnection(first.id)).queue;
    expect(await firstQueue.pop()).toEqual(new Message('for-first', 1));
    expect(await firstQueue.pop()).toEqual(new Message('for-all'));
    expect(await (await loaded.resolveConnection(second.id)).queue.pop()).toEqual(new Message('for-all'));
  });

  it('fails dispatch and broadcast with RepositoryError once Redis cannot be reached', async () => {
    await twoProcesses();
    const channel = await channelOnA();
    const listener = await channel.addListener();
    await a.close();
    await expect(channel.dispatch(listener.id, new Message('x'))).rejects.toThrow(RepositoryError);
    await expect(channel.broadcast(new Message('x'))).rejects.toThrow(/Redis is unavailable/);
    await expect(channel.addListener()).rejects.toThrow(RepositoryError);
    await expect(a.channelRepository.listIds()).rejects.toThrow(RepositoryError);
    expect(await b.channelRepository.listIds()).toEqual([channel.id]);
  });
});
