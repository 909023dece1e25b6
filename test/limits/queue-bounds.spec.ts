import { afterEach, describe, expect, it } from '@jest/globals';
import {
  Connection,
  EricSseException,
  InMemoryConnectionsFactory,
  InMemoryQueue,
  InvalidConfigurationException,
  LimitExceededException,
  Message,
  MessageQueueListener,
  QueueFullException,
  SSEChannel,
  setEricLogger,
} from '../../src/index.js';
import { types, debugLines } from './support.js';

afterEach(() => setEricLogger());

describe('InMemoryQueue bounds', () => {
  it('is unbounded by default', async () => {
    const queue = new InMemoryQueue();
    for (let i = 0; i < 20_000; i++) await queue.push(new Message(`m${i}`));
    expect(queue.size).toBe(20_000);
    expect(queue.maxSize).toBe(Infinity);
    expect(queue.refusesPush()).toBe(false);
  });

  it('drop-oldest (the default policy) keeps the newest maxSize messages, counts and logs each drop at debug', async () => {
    const logged = debugLines();
    const queue = new InMemoryQueue([], { maxSize: 3, label: 'listener L of channel C' });
    for (const type of ['a', 'b', 'c', 'd', 'e']) await queue.push(new Message(type));
    expect(types(queue.peekAll())).toEqual(['c', 'd', 'e']);
    expect(queue.dropped).toBe(2);
    expect(queue.refusesPush()).toBe(false);
    expect(logged).toEqual([
      "Queue of listener L of channel C is full (maxSize 3): dropped its oldest message 'a' (1 dropped so far)",
      "Queue of listener L of channel C is full (maxSize 3): dropped its oldest message 'b' (2 dropped so far)",
    ]);
  });

  it('drop-oldest stays at its maximum however many messages come, and pops them in order', async () => {
    const queue = new InMemoryQueue([], { maxSize: 1000, overflow: 'drop-oldest' });
    for (let i = 0; i < 10_000; i++) await queue.push(new Message(String(i)));
    expect(queue.size).toBe(1000);
    expect(queue.dropped).toBe(9000);
    const popped: string[] = [];
    for (let msg = queue.popNow(); msg !== undefined; msg = queue.popNow()) popped.push(msg.type);
    expect(popped).toEqual(Array.from({ length: 1000 }, (_, i) => String(9000 + i)));
  });

  it('reject refuses a push past maxSize with QueueFullException and leaves the queue as it was', async () => {
    const queue = new InMemoryQueue([], { maxSize: 2, overflow: 'reject', label: 'listener L' });
    await queue.push(new Message('a'));
    expect(queue.refusesPush()).toBe(false);
    await queue.push(new Message('b'));
    expect(queue.refusesPush()).toBe(true);
    const refused = queue.push(new Message('c'));
    await expect(refused).rejects.toThrow(QueueFullException);
    await expect(refused).rejects.toThrow("Queue of listener L is full (maxSize 2, overflow 'reject')");
    expect(types(queue.peekAll())).toEqual(['a', 'b']);
    expect(queue.dropped).toBe(0);
    // Room again once a message leaves.
    expect(queue.popNow()?.type).toBe('a');
    await queue.push(new Message('c'));
    expect(types(queue.peekAll())).toEqual(['b', 'c']);
  });

  it('a refused push does not wake a waiting stream; an accepted one does', async () => {
    const queue = new InMemoryQueue([], { maxSize: 1, overflow: 'reject' });
    await queue.push(new Message('a'));
    queue.popNow();
    let woken = 0;
    queue.onReady(() => woken++);
    await queue.push(new Message('b'));
    expect(woken).toBe(1);
    queue.onReady(() => woken++); // fires at once: a message is there
    expect(woken).toBe(2);
    await expect(queue.push(new Message('c'))).rejects.toThrow(QueueFullException);
    expect(woken).toBe(2);
  });

  it('applies its policy to the messages it is made with', () => {
    const kept = new InMemoryQueue([new Message('a'), new Message('b'), new Message('c')], { maxSize: 2 });
    expect(types(kept.peekAll())).toEqual(['b', 'c']);
    expect(kept.dropped).toBe(1);
    expect(() => new InMemoryQueue([new Message('a'), new Message('b')], { maxSize: 1, overflow: 'reject' })).toThrow(
      QueueFullException,
    );
  });

  it.each([
    [{ maxSize: -1 }, 'maxSize must be an integer >= 0 (0: no limit), got -1'],
    [{ maxSize: 1.5 }, 'maxSize must be an integer >= 0 (0: no limit), got 1.5'],
    [{ maxSize: '10' }, 'maxSize must be an integer >= 0 (0: no limit), got "10"'],
    [{ maxSize: Infinity }, 'maxSize must be an integer >= 0 (0: no limit), got Infinity'],
    [{ overflow: 'drop-newest' }, `overflow must be one of 'drop-oldest', 'reject', got "drop-newest"`],
  ])('refuses bad limits %j with InvalidConfigurationException naming them', (limits, message) => {
    expect(() => new InMemoryQueue([], limits as never)).toThrow(InvalidConfigurationException);
    expect(() => new InMemoryQueue([], limits as never)).toThrow(message);
    expect(() => new InMemoryConnectionsFactory(limits as never)).toThrow(message);
  });

  it('0 means unbounded', () => {
    expect(new InMemoryQueue([], { maxSize: 0 }).maxSize).toBe(Infinity);
  });
});

describe('InMemoryConnectionsFactory bounds', () => {
  it('makes unbounded queues by default', () => {
    const factory = new InMemoryConnectionsFactory();
    expect(factory.limits).toEqual({ maxSize: Infinity, overflow: 'drop-oldest' });
    expect((factory.create().queue as InMemoryQueue).maxSize).toBe(Infinity);
  });

  it('gives every queue its bound and policy, naming the listener and channel in errors', async () => {
    const factory = new InMemoryConnectionsFactory({ maxSize: 1, overflow: 'reject' });
    const listener = new MessageQueueListener('alice');
    const queue = factory.create(listener, 'news').queue as InMemoryQueue;
    expect([queue.maxSize, queue.overflow]).toEqual([1, 'reject']);
    await queue.push(new Message('a'));
    await expect(queue.push(new Message('b'))).rejects.toThrow('Queue of listener alice of channel news is full');
  });
});

describe('channel dispatch and broadcast on bounded queues', () => {
  function channelWith(overflow: 'reject' | 'drop-oldest', maxSize = 2): SSEChannel {
    return new SSEChannel({
      channelId: 'news',
      connectionsFactory: new InMemoryConnectionsFactory({ maxSize, overflow }),
    });
  }

  function queueOf(channel: SSEChannel, listenerId: string): InMemoryQueue {
    return channel.getConnection(listenerId).queue as InMemoryQueue;
  }

  it('reject: a dispatch to a full queue is a QueueFullException naming the listener; nothing changes', async () => {
    const channel = channelWith('reject');
    const { id } = await channel.addListener();
    await channel.dispatch(id, new Message('a'));
    await channel.dispatch(id, new Message('b'));
    const refused = channel.dispatch(id, new Message('c'));
    await expect(refused).rejects.toThrow(QueueFullException);
    await expect(refused).rejects.toThrow(
      `The queue of listener ${id} is full in channel news (overflow 'reject'): nothing was queued`,
    );
    await refused.catch((error: QueueFullException) => expect(error.listenerIds).toEqual([id]));
    expect(types(queueOf(channel, id).peekAll())).toEqual(['a', 'b']);
  });

  it('reject: a broadcast is all or nothing — one full queue refuses it for everyone, naming the full ones', async () => {
    const channel = channelWith('reject');
    const [a, b, c] = [await channel.addListener(), await channel.addListener(), await channel.addListener()];
    await channel.dispatch(a.id, new Message('a1'));
    await channel.dispatch(a.id, new Message('a2'));
    await channel.dispatch(c.id, new Message('c1'));
    await channel.dispatch(c.id, new Message('c2'));
    const refused = channel.broadcast(new Message('news'));
    await expect(refused).rejects.toThrow(QueueFullException);
    await refused.catch((error: QueueFullException) => {
      expect(error.listenerIds).toEqual([a.id, c.id]);
      expect(error.message).toBe(
        `The queues of listeners ${a.id}, ${c.id} are full in channel news (overflow 'reject'): nothing was queued`,
      );
    });
    await expect(channel.broadcastAndCount(new Message('news'))).rejects.toThrow(QueueFullException);
    expect(types(queueOf(channel, a.id).peekAll())).toEqual(['a1', 'a2']);
    expect(types(queueOf(channel, b.id).peekAll())).toEqual([]);
    expect(types(queueOf(channel, c.id).peekAll())).toEqual(['c1', 'c2']);
    // Once the full ones read, the broadcast reaches every listener.
    queueOf(channel, a.id).popNow();
    queueOf(channel, c.id).popNow();
    await expect(channel.broadcastAndCount(new Message('news'))).resolves.toBe(3);
    expect(types(queueOf(channel, b.id).peekAll())).toEqual(['news']);
  });

  it('reject: once the full listener is removed, a broadcast reaches the others', async () => {
    const channel = channelWith('reject', 1);
    const full = await channel.addListener();
    const other = await channel.addListener();
    await channel.dispatch(full.id, new Message('x'));
    await expect(channel.broadcast(new Message('all'))).rejects.toThrow(QueueFullException);
    await channel.removeListener(full.id);
    await expect(channel.broadcastAndCount(new Message('all'))).resolves.toBe(1);
    expect(types(queueOf(channel, other.id).peekAll())).toEqual(['all']);
  });

  it('names at most ten listeners in the message, all of them in listenerIds', async () => {
    const channel = channelWith('reject', 1);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await channel.addListener()).id);
    await channel.broadcast(new Message('fill'));
    const error = (await channel.broadcast(new Message('more')).catch((e: unknown) => e)) as QueueFullException;
    expect(error.listenerIds).toEqual(ids);
    expect(error.message).toContain(`${ids.slice(0, 10).join(', ')} and 2 more are full`);
  });

  it('drop-oldest: a broadcast reaches everyone, full queues dropping their oldest message', async () => {
    const channel = channelWith('drop-oldest');
    const [a, b] = [await channel.addListener(), await channel.addListener()];
    await channel.dispatch(a.id, new Message('a1'));
    await channel.dispatch(a.id, new Message('a2'));
    await expect(channel.broadcastAndCount(new Message('news'))).resolves.toBe(2);
    expect(types(queueOf(channel, a.id).peekAll())).toEqual(['a2', 'news']);
    expect(types(queueOf(channel, b.id).peekAll())).toEqual(['news']);
    expect(queueOf(channel, a.id).dropped).toBe(1);
  });

  it('drop-oldest: a listener that comes back streams the newest messages, at most maxSize of them', async () => {
    const channel = channelWith('drop-oldest', 3);
    const listener = await channel.addListener();
    for (let i = 1; i <= 10; i++) await channel.broadcast(new Message(`m${i}`));
    listener.start();
    const seen: string[] = [];
    for await (const event of channel.messageStream(listener)) {
      seen.push(event.event);
      if (seen.length === 3) listener.stop();
    }
    expect(seen).toEqual(['m8', 'm9', 'm10']);
  });

  it('a queue that cannot say whether it is full (no refusesPush) still takes broadcasts', async () => {
    const channel = new SSEChannel();
    const pushed: string[] = [];
    const queue = {
      push: (msg: { type: string }) => (pushed.push(msg.type), Promise.resolve()),
      pop: () => Promise.reject(new Error('not used')),
      onReady: () => () => undefined,
    };
    await channel.registerConnection(new Connection(new MessageQueueListener(), queue));
    await channel.broadcast(new Message('x'));
    expect(pushed).toEqual(['x']);
  });
});

describe('limit errors', () => {
  it('are EricSseExceptions and LimitExceededExceptions named after their class', () => {
    const error = new QueueFullException('full', ['a']);
    expect(error).toBeInstanceOf(LimitExceededException);
    expect(error).toBeInstanceOf(EricSseException);
    expect(error.name).toBe('QueueFullException');
    expect(error.listenerIds).toEqual(['a']);
    expect(new QueueFullException().listenerIds).toEqual([]);
  });
});
