import { describe, expect, it } from '@jest/globals';
import {
  Connection,
  InMemoryConnectionsFactory,
  InMemoryQueue,
  InvalidConfigurationException,
  InvalidListenerException,
  Message,
  MessageQueueListener,
  NoMessagesException,
  SignedMessage,
  type ConnectionsFactory,
  type MessageContract,
} from '../../src/index.js';
import { AsyncOnlyQueue, RecordingListener, TextChannel, UUID_V4 } from './support.js';

const pending = (channel: TextChannel, listenerId: string): unknown[] =>
  (channel.getConnection(listenerId).queue as InMemoryQueue).peekAll().map((msg) => msg.payload);

describe('AbstractChannel construction', () => {
  it('defaults to a fresh UUID id, no delay and an in-memory connections factory', () => {
    const channel = new TextChannel();
    expect(channel.id).toMatch(UUID_V4);
    expect(new TextChannel().id).not.toBe(channel.id);
    expect(channel.streamDelaySeconds).toBe(0);
    expect(channel.connectionsFactory).toBeInstanceOf(InMemoryConnectionsFactory);
  });

  it('keeps the given options', () => {
    const factory = new InMemoryConnectionsFactory();
    const channel = new TextChannel({ channelId: 'room', streamDelaySeconds: 0.5, connectionsFactory: factory });
    expect(channel.id).toBe('room');
    expect(channel.streamDelaySeconds).toBe(0.5);
    expect(channel.connectionsFactory).toBe(factory);
  });

  it.each([
    [{ streamDelaySeconds: -1 }, 'streamDelaySeconds'],
    [{ streamDelaySeconds: Number.NaN }, 'streamDelaySeconds'],
    [{ channelId: '' }, 'channelId'],
  ])('rejects %p with InvalidConfigurationException naming %s', (options, name) => {
    expect(() => new TextChannel(options)).toThrow(InvalidConfigurationException);
    expect(() => new TextChannel(options)).toThrow(name);
  });

  it('describes itself for repositories', () => {
    expect(new TextChannel({ channelId: 'c', streamDelaySeconds: 2 }).toData()).toEqual({
      channelId: 'c',
      streamDelaySeconds: 2,
    });
  });
});

describe('AbstractChannel listeners', () => {
  it('addListener creates a stopped listener through the factory and registers it', async () => {
    const created: Connection[] = [];
    const factory: ConnectionsFactory = {
      create(listener) {
        const connection = new InMemoryConnectionsFactory().create(listener);
        created.push(connection);
        return connection;
      },
    };
    const channel = new TextChannel({ connectionsFactory: factory });
    const listener = await channel.addListener();
    expect(listener.id).toMatch(UUID_V4);
    expect(listener.isRunning()).toBe(false);
    expect(created).toHaveLength(1);
    expect(channel.getListener(listener.id)).toBe(listener);
    expect(channel.getConnection(listener.id)).toBe(created[0]);
    expect(channel.hasListener(listener.id)).toBe(true);
  });

  it('registerListener makes a connection for an existing listener through the factory', async () => {
    const seen: (MessageQueueListener | undefined)[] = [];
    const factory: ConnectionsFactory = {
      create(listener) {
        seen.push(listener);
        return new InMemoryConnectionsFactory().create(listener);
      },
    };
    const channel = new TextChannel({ connectionsFactory: factory });
    const listener = new RecordingListener('bob');
    await channel.registerListener(listener);
    expect(seen).toEqual([listener]);
    expect(channel.getListener('bob')).toBe(listener);
  });

  it('registerConnection keeps the given connection and queue', async () => {
    const channel = new TextChannel();
    const queue = new InMemoryQueue([new Message('early', 1)]);
    const connection = new Connection(new MessageQueueListener('x'), queue, 'conn-x');
    await channel.registerConnection(connection);
    expect(channel.getConnection('x')).toBe(connection);
    expect(pending(channel, 'x')).toEqual([1]);
  });

  it('lists connections in registration order', async () => {
    const channel = new TextChannel();
    const a = await channel.addListener();
    const b = new MessageQueueListener('b');
    await channel.registerListener(b);
    const c = await channel.addListener();
    expect(channel.getConnections().map((conn) => conn.listener)).toEqual([a, b, c]);
    await channel.removeListener(b.id);
    const d = await channel.addListener();
    expect(channel.getConnections().map((conn) => conn.listener)).toEqual([a, c, d]);
  });

  it('getConnections returns a copy', async () => {
    const channel = new TextChannel();
    await channel.addListener();
    channel.getConnections().length = 0;
    expect(channel.getConnections()).toHaveLength(1);
  });

  it('removeListener unregisters, drops the queue and stops the listener', async () => {
    const channel = new TextChannel();
    const listener = await channel.addListener();
    listener.start();
    await channel.dispatch(listener.id, new Message('x'));
    await channel.removeListener(listener.id);
    expect(listener.isRunning()).toBe(false);
    expect(channel.hasListener(listener.id)).toBe(false);
    expect(channel.getConnections()).toEqual([]);
    expect(() => channel.getListener(listener.id)).toThrow(InvalidListenerException);
    await expect(channel.dispatch(listener.id, new Message('y'))).rejects.toBeInstanceOf(InvalidListenerException);
  });

  it('removeListener of an unknown id rejects with InvalidListenerException and changes nothing', async () => {
    const channel = new TextChannel();
    const listener = await channel.addListener();
    listener.start();
    await channel.dispatch(listener.id, new Message('kept', 1));
    await expect(channel.removeListener('nope')).rejects.toBeInstanceOf(InvalidListenerException);
    expect(channel.getConnections().map((conn) => conn.listener)).toEqual([listener]);
    expect(listener.isRunning()).toBe(true);
    expect(pending(channel, listener.id)).toEqual([1]);
  });

  it('removing a listener twice fails the second time', async () => {
    const channel = new TextChannel();
    const listener = await channel.addListener();
    await channel.removeListener(listener.id);
    await expect(channel.removeListener(listener.id)).rejects.toThrow(InvalidListenerException);
  });

  it('getListener and getConnection of an unknown id throw InvalidListenerException naming id and channel', () => {
    const channel = new TextChannel({ channelId: 'room' });
    expect(() => channel.getListener('ghost')).toThrow(InvalidListenerException);
    expect(() => channel.getConnection('ghost')).toThrow(/ghost.*room/);
    expect(channel.hasListener('ghost')).toBe(false);
  });

  it('rejects registering a listener id that is already registered, keeping its queue', async () => {
    const channel = new TextChannel();
    const listener = new MessageQueueListener('bob');
    await channel.registerListener(listener);
    await channel.dispatch('bob', new Message('waiting', 1));
    const original = channel.getConnection('bob');

    await expect(channel.registerListener(listener)).rejects.toBeInstanceOf(InvalidListenerException);
    await expect(
      channel.registerConnection(new Connection(new MessageQueueListener('bob'), new InMemoryQueue())),
    ).rejects.toThrow(InvalidListenerException);

    expect(channel.getConnection('bob')).toBe(original);
    expect(channel.getConnections()).toHaveLength(1);
    expect(pending(channel, 'bob')).toEqual([1]);
  });
});

describe('AbstractChannel dispatch and broadcast', () => {
  it('dispatch queues for one listener only', async () => {
    const channel = new TextChannel();
    const a = await channel.addListener();
    const b = await channel.addListener();
    await channel.dispatch(a.id, new Message('x', 1));
    await channel.dispatch(a.id, new Message('x', 2));
    expect(pending(channel, a.id)).toEqual([1, 2]);
    expect(pending(channel, b.id)).toEqual([]);
  });

  it('dispatch queues for a stopped listener too (it waits for its stream)', async () => {
    const channel = new TextChannel();
    const listener = await channel.addListener();
    await channel.dispatch(listener.id, new Message('x', 1));
    expect(pending(channel, listener.id)).toEqual([1]);
  });

  it('dispatch to an unknown id rejects with InvalidListenerException and leaves every queue intact', async () => {
    const channel = new TextChannel();
    const a = await channel.addListener();
    const b = await channel.addListener();
    await channel.dispatch(a.id, new Message('x', 1));
    await channel.broadcast(new Message('x', 2));
    const result = channel.dispatch('nope', new Message('x', 3));
    expect(result).toBeInstanceOf(Promise);
    await expect(result).rejects.toBeInstanceOf(InvalidListenerException);
    await expect(channel.dispatch('nope', new Message('x', 3))).rejects.toThrow(/nope/);
    expect(pending(channel, a.id)).toEqual([1, 2]);
    expect(pending(channel, b.id)).toEqual([2]);
  });

  it('broadcast queues the message for every listener', async () => {
    const channel = new TextChannel();
    const listeners = [await channel.addListener(), await channel.addListener(), await channel.addListener()];
    const msg = new Message('all', 'hi');
    await channel.broadcast(msg);
    for (const listener of listeners) {
      expect(channel.getConnection(listener.id).queue.popNow?.()).toBe(msg);
    }
  });

  it('broadcast to an empty channel resolves', async () => {
    await expect(new TextChannel().broadcast(new Message('x'))).resolves.toBeUndefined();
  });

  it('broadcast waits for queues that push asynchronously', async () => {
    const channel = new TextChannel();
    const asyncQueue = new AsyncOnlyQueue();
    await channel.registerConnection(new Connection(new MessageQueueListener('remote'), asyncQueue));
    const local = await channel.addListener();
    await expect(channel.broadcast(new Message('x', 1))).resolves.toBeUndefined();
    expect(asyncQueue.items.map((msg) => msg.payload)).toEqual([1]);
    expect(pending(channel, local.id)).toEqual([1]);
  });

  it('broadcast rejects when a queue fails to push', async () => {
    const channel = new TextChannel();
    const failing = new AsyncOnlyQueue();
    failing.push = () => Promise.reject(new Error('store down'));
    await channel.registerConnection(new Connection(new MessageQueueListener('remote'), failing));
    await expect(channel.broadcast(new Message('x'))).rejects.toThrow('store down');
  });
});

describe('AbstractChannel deliverNext', () => {
  it('pops the next message, hands it to onMessage and returns it', async () => {
    const channel = new TextChannel();
    const listener = new RecordingListener();
    await channel.registerListener(listener);
    listener.start();
    const first = new SignedMessage('alice', 'a', 1);
    await channel.dispatch(listener.id, first);
    await channel.dispatch(listener.id, new Message('b', 2));
    expect(await channel.deliverNext(listener.id)).toBe(first);
    expect(listener.received).toEqual([first]);
    expect((await channel.deliverNext(listener.id)).payload).toBe(2);
    expect(listener.received.map((msg) => msg.type)).toEqual(['a', 'b']);
  });

  it('awaits an async onMessage before returning', async () => {
    const order: string[] = [];
    class SlowListener extends MessageQueueListener {
      override async onMessage(msg: MessageContract): Promise<void> {
        await Promise.resolve();
        order.push(`handled ${msg.type}`);
      }
    }
    const channel = new TextChannel();
    const listener = new SlowListener();
    await channel.registerListener(listener);
    listener.start();
    await channel.dispatch(listener.id, new Message('x'));
    await channel.deliverNext(listener.id);
    order.push('returned');
    expect(order).toEqual(['handled x', 'returned']);
  });

  it('rejects with NoMessagesException on an empty queue', async () => {
    const channel = new TextChannel();
    const listener = await channel.addListener();
    listener.start();
    await expect(channel.deliverNext(listener.id)).rejects.toBeInstanceOf(NoMessagesException);
  });

  it('rejects with NoMessagesException for a stopped listener and leaves its queue intact', async () => {
    const channel = new TextChannel();
    const listener = new RecordingListener();
    await channel.registerListener(listener);
    await channel.dispatch(listener.id, new Message('x', 1));
    await channel.dispatch(listener.id, new Message('x', 2));
    await expect(channel.deliverNext(listener.id)).rejects.toBeInstanceOf(NoMessagesException);
    listener.start();
    listener.stop();
    await expect(channel.deliverNext(listener.id)).rejects.toThrow(NoMessagesException);
    expect(listener.received).toEqual([]);
    expect(pending(channel, listener.id)).toEqual([1, 2]);
    listener.start();
    expect((await channel.deliverNext(listener.id)).payload).toBe(1);
  });

  it('rejects with InvalidListenerException for an unknown id', async () => {
    const channel = new TextChannel();
    await expect(channel.deliverNext('ghost')).rejects.toBeInstanceOf(InvalidListenerException);
  });

  it('works with a queue that only pops asynchronously', async () => {
    const channel = new TextChannel();
    const listener = new RecordingListener();
    const queue = new AsyncOnlyQueue();
    await channel.registerConnection(new Connection(listener, queue));
    listener.start();
    await channel.dispatch(listener.id, new Message('x', 1));
    expect((await channel.deliverNext(listener.id)).payload).toBe(1);
    expect(listener.received.map((msg) => msg.payload)).toEqual([1]);
    await expect(channel.deliverNext(listener.id)).rejects.toBeInstanceOf(NoMessagesException);
  });

  it('propagates an error thrown by onMessage', async () => {
    class FailingListener extends MessageQueueListener {
      override onMessage(): void {
        throw new Error('handler failed');
      }
    }
    const channel = new TextChannel();
    const listener = new FailingListener();
    await channel.registerListener(listener);
    listener.start();
    await channel.dispatch(listener.id, new Message('x'));
    await expect(channel.deliverNext(listener.id)).rejects.toThrow('handler failed');
  });
});
