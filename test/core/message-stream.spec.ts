import { afterEach, describe, expect, it, jest } from '@jest/globals';
import {
  Connection,
  InMemoryQueue,
  Message,
  MessageQueueListener,
  NoMessagesException,
  type MessageContract,
} from '../../src/index.js';
import {
  AsyncOnlyQueue,
  ReadyCallbackCountingQueue,
  RecordingListener,
  StopCallbackCountingListener,
  TextChannel,
  nextTurn,
  track,
} from './support.js';

async function startedListener(channel: TextChannel): Promise<MessageQueueListener> {
  const listener = new RecordingListener();
  await channel.registerListener(listener);
  listener.start();
  return listener;
}

async function take<T>(stream: AsyncIterator<T>, count: number): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < count; i++) {
    const result = await stream.next();
    if (result.done === true) break;
    out.push(result.value);
  }
  return out;
}

async function drain<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) out.push(item);
  return out;
}

describe('messageStream', () => {
  it('yields adapt(msg) for each message, in order, after handing it to onMessage', async () => {
    const channel = new TextChannel();
    const listener = new RecordingListener();
    await channel.registerListener(listener);
    listener.start();
    await channel.dispatch(listener.id, new Message('a', 1));
    await channel.dispatch(listener.id, new Message('b'));
    await channel.broadcast(new Message('c', { k: 'v' }));
    const stream = channel.messageStream(listener);
    expect(await take(stream, 3)).toEqual(['a:1', 'b', 'c:{"k":"v"}']);
    expect(listener.received.map((msg) => msg.type)).toEqual(['a', 'b', 'c']);
    listener.stop();
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });

  it('accepts a listener id', async () => {
    const channel = new TextChannel();
    const listener = await startedListener(channel);
    await channel.dispatch(listener.id, new Message('a'));
    await channel.dispatch(listener.id, new Message('bye'));
    expect(await drain(channel.messageStream(listener.id))).toEqual(['a', 'bye']);
  });

  it('awaits an async onMessage before yielding', async () => {
    const order: string[] = [];
    class SlowListener extends MessageQueueListener {
      override async onMessage(msg: MessageContract): Promise<void> {
        await nextTurn();
        order.push(`handled ${msg.type}`);
      }
    }
    const channel = new TextChannel();
    const listener = new SlowListener();
    await channel.registerListener(listener);
    listener.start();
    await channel.dispatch(listener.id, new Message('x'));
    const stream = channel.messageStream(listener);
    order.push(`yielded ${String((await stream.next()).value)}`);
    expect(order).toEqual(['handled x', 'yielded x']);
    listener.stop();
  });

  it('wakes a stream waiting on an empty queue when a message is dispatched', async () => {
    const channel = new TextChannel();
    const listener = await startedListener(channel);
    const stream = channel.messageStream(listener);
    const next = track(stream.next());
    await nextTurn();
    expect(next.settled()).toBe(false);
    await channel.dispatch(listener.id, new Message('late', 1));
    expect(await next.promise).toEqual({ done: false, value: 'late:1' });

    const again = track(stream.next());
    await nextTurn();
    expect(again.settled()).toBe(false);
    await channel.broadcast(new Message('later'));
    expect(await again.promise).toEqual({ done: false, value: 'later' });
    listener.stop();
    expect((await stream.next()).done).toBe(true);
  });

  it('ends a stream waiting on an empty queue when its listener stops', async () => {
    const channel = new TextChannel();
    const listener = await startedListener(channel);
    const stream = channel.messageStream(listener);
    const next = track(stream.next());
    await nextTurn();
    expect(next.settled()).toBe(false);
    listener.stop();
    expect(await next.promise).toEqual({ done: true, value: undefined });
  });

  it('yields the message that stopped the listener, then ends, leaving later messages queued', async () => {
    const channel = new TextChannel();
    const listener = await startedListener(channel);
    for (const type of ['a', 'bye', 'after']) await channel.dispatch(listener.id, new Message(type));
    expect(await drain(channel.messageStream(listener))).toEqual(['a', 'bye']);
    expect(listener.isRunning()).toBe(false);
    expect((channel.getConnection(listener.id).queue as InMemoryQueue).peekAll().map((msg) => msg.type)).toEqual([
      'after',
    ]);
  });

  it('ends when the listener is removed, while waiting or between messages', async () => {
    const channel = new TextChannel();
    const waiting = await startedListener(channel);
    const waitingStream = channel.messageStream(waiting);
    const next = track(waitingStream.next());
    await nextTurn();
    expect(next.settled()).toBe(false);
    await channel.removeListener(waiting.id);
    expect((await next.promise).done).toBe(true);

    const busy = await startedListener(channel);
    await channel.dispatch(busy.id, new Message('a'));
    await channel.dispatch(busy.id, new Message('b'));
    const busyStream = channel.messageStream(busy);
    expect((await busyStream.next()).value).toBe('a');
    await channel.removeListener(busy.id);
    expect((await busyStream.next()).done).toBe(true);
  });

  it('ends at once for a listener that is not running, without consuming its queue', async () => {
    const channel = new TextChannel();
    const listener = new RecordingListener();
    await channel.registerListener(listener);
    await channel.dispatch(listener.id, new Message('kept'));
    expect(await drain(channel.messageStream(listener))).toEqual([]);
    expect(listener.received).toEqual([]);
    expect((channel.getConnection(listener.id).queue as InMemoryQueue).size).toBe(1);
  });

  it('yields one error event and ends for an unknown listener', async () => {
    const channel = new TextChannel({ channelId: 'room' });
    const byId = await drain(channel.messageStream('ghost'));
    expect(byId).toHaveLength(1);
    expect(byId[0]).toMatch(/^error:/);
    expect(byId[0]).toContain('InvalidListenerException');
    expect(byId[0]).toContain('ghost');

    const stranger = new MessageQueueListener('stranger');
    stranger.start();
    const byObject = await drain(channel.messageStream(stranger));
    expect(byObject).toHaveLength(1);
    expect(byObject[0]).toContain('stranger');
  });

  it('delivers each message once when two streams share a listener', async () => {
    const channel = new TextChannel();
    const listener = await startedListener(channel);
    const first = channel.messageStream(listener);
    const second = channel.messageStream(listener);
    const a = first.next();
    const b = second.next();
    await nextTurn();
    await channel.dispatch(listener.id, new Message('one'));
    await channel.dispatch(listener.id, new Message('two'));
    const values = [(await a).value, (await b).value].sort();
    expect(values).toEqual(['one', 'two']);
    listener.stop();
    expect((await first.next()).done).toBe(true);
    expect((await second.next()).done).toBe(true);
  });

  it('propagates an error thrown by onMessage to the consumer', async () => {
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
    await expect(channel.messageStream(listener).next()).rejects.toThrow('handler failed');
  });

  it('holds one stop callback per stream and no ready callback between waits, over 1,000 wait/wake cycles', async () => {
    const channel = new TextChannel();
    const listener = new StopCallbackCountingListener();
    const queue = new ReadyCallbackCountingQueue();
    await channel.registerConnection(new Connection(listener, queue));
    listener.start();
    const stream = channel.messageStream(listener);
    for (let i = 0; i < 1000; i++) {
      const next = stream.next();
      await nextTurn();
      expect([listener.live, queue.live]).toEqual([1, 1]);
      await channel.dispatch(listener.id, new Message('n', i));
      expect((await next).value).toBe(`n:${i}`);
      expect([listener.live, queue.live]).toEqual([1, 0]);
    }
    const last = stream.next();
    await nextTurn();
    expect([listener.live, queue.live]).toEqual([1, 1]);
    listener.stop();
    expect((await last).done).toBe(true);
    expect([listener.live, queue.live]).toEqual([0, 0]);
  });

  it('lets 10,000 idle streams wait, then wakes every one of them with one broadcast', async () => {
    const channel = new TextChannel();
    const listeners: MessageQueueListener[] = [];
    for (let i = 0; i < 10_000; i++) listeners.push(await startedListener(channel));
    const streams = listeners.map((listener) => channel.messageStream(listener));
    const nexts = streams.map((stream) => track(stream.next()));
    await nextTurn();
    expect(nexts.filter((next) => next.settled())).toHaveLength(0);

    await channel.broadcast(new Message('wake', 1));
    const results = await Promise.all(nexts.map((next) => next.promise));
    expect(results.every((result) => result.done === false && result.value === 'wake:1')).toBe(true);

    const ends = streams.map((stream) => stream.next());
    for (const listener of listeners) listener.stop();
    expect((await Promise.all(ends)).every((result) => result.done === true)).toBe(true);
  });
});

describe('messageStream with a queue that only pops asynchronously', () => {
  async function setup(): Promise<{ channel: TextChannel; listener: RecordingListener; queue: AsyncOnlyQueue }> {
    const channel = new TextChannel();
    const listener = new RecordingListener();
    const queue = new AsyncOnlyQueue();
    await channel.registerConnection(new Connection(listener, queue));
    listener.start();
    return { channel, listener, queue };
  }

  it('streams queued messages in order, waits when empty and wakes on dispatch', async () => {
    const { channel, listener, queue } = await setup();
    await channel.dispatch(listener.id, new Message('a'));
    await channel.dispatch(listener.id, new Message('b'));
    const stream = channel.messageStream(listener);
    expect(await take(stream, 2)).toEqual(['a', 'b']);
    const next = track(stream.next());
    await nextTurn();
    expect(next.settled()).toBe(false);
    await channel.dispatch(listener.id, new Message('c'));
    expect((await next.promise).value).toBe('c');
    expect(listener.received.map((msg) => msg.type)).toEqual(['a', 'b', 'c']);
    await channel.dispatch(listener.id, new Message('bye'));
    expect(await drain(stream)).toEqual(['bye']);
    expect(queue.items).toEqual([]);
  });

  it('ends when stopped while waiting', async () => {
    const { channel, listener } = await setup();
    const stream = channel.messageStream(listener);
    const next = track(stream.next());
    await nextTurn();
    expect(next.settled()).toBe(false);
    listener.stop();
    expect((await next.promise).done).toBe(true);
  });

  it('gives the message back to the queue when stopped during an in-flight pop', async () => {
    const { channel, listener, queue } = await setup();
    const msg = new Message('in-flight', 1);
    await channel.dispatch(listener.id, msg);
    queue.holdPops = true;
    const stream = channel.messageStream(listener);
    const next = stream.next();
    await nextTurn();
    expect(queue.popInFlight).toBe(true);
    listener.stop();
    queue.releasePop();
    expect(await next).toEqual({ done: true, value: undefined });
    expect(listener.received).toEqual([]);
    expect(queue.items).toEqual([msg]);

    queue.holdPops = false;
    listener.start();
    expect(await take(channel.messageStream(listener), 1)).toEqual(['in-flight:1']);
  });

  it('ends cleanly when stopped during an in-flight pop of an empty queue', async () => {
    const { channel, listener, queue } = await setup();
    queue.holdPops = true;
    const stream = channel.messageStream(listener);
    const next = stream.next();
    await nextTurn();
    listener.stop();
    queue.releasePop();
    expect((await next).done).toBe(true);
    expect(queue.items).toEqual([]);
  });

  it('retries at once when a pop misses a message the queue already reports as ready', async () => {
    const { channel, listener, queue } = await setup();
    await channel.dispatch(listener.id, new Message('lagging'));
    const pop = queue.pop.bind(queue);
    let misses = 1;
    // Like a replicated store read that lags behind the write it follows.
    queue.pop = () => (misses-- > 0 ? Promise.reject(new NoMessagesException('stale read')) : pop());
    expect((await channel.messageStream(listener).next()).value).toBe('lagging');
    expect(misses).toBe(-1);
  });

  it('tolerates a queue that calls a ready callback more than once', async () => {
    const { channel, listener, queue } = await setup();
    const onReady = queue.onReady.bind(queue);
    queue.onReady = (callback) =>
      onReady(() => {
        callback();
        callback();
      });
    const stream = channel.messageStream(listener);
    const next = stream.next();
    await nextTurn();
    await channel.dispatch(listener.id, new Message('once'));
    expect((await next).value).toBe('once');
    const after = track(stream.next());
    await nextTurn();
    expect(after.settled()).toBe(false);
    listener.stop();
    expect((await after.promise).done).toBe(true);
  });

  it('propagates a pop failure other than an empty queue', async () => {
    const { channel, listener, queue } = await setup();
    queue.pop = () => Promise.reject(new Error('store down'));
    await expect(channel.messageStream(listener).next()).rejects.toThrow('store down');
  });
});

describe('messageStream with streamDelaySeconds', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('spaces deliveries by the delay, and costs no timer while idle', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    const channel = new TextChannel({ streamDelaySeconds: 2 });
    const listener = await startedListener(channel);
    await channel.dispatch(listener.id, new Message('a'));
    await channel.dispatch(listener.id, new Message('b'));
    const stream = channel.messageStream(listener);
    expect((await stream.next()).value).toBe('a');

    const second = track(stream.next());
    await jest.advanceTimersByTimeAsync(1999);
    expect(second.settled()).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect((await second.promise).value).toBe('b');

    // After the spacing, an idle stream waits on the queue with no timer, and wakes at once on dispatch.
    const third = track(stream.next());
    await jest.advanceTimersByTimeAsync(2000);
    expect(third.settled()).toBe(false);
    expect(jest.getTimerCount()).toBe(0);
    await channel.dispatch(listener.id, new Message('c'));
    expect((await third.promise).value).toBe('c');

    listener.stop();
    expect((await stream.next()).done).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('ends promptly when stopped during the delay, clearing its timer and callbacks', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    const channel = new TextChannel({ streamDelaySeconds: 3600 });
    const listener = new StopCallbackCountingListener();
    await channel.registerListener(listener);
    listener.start();
    await channel.dispatch(listener.id, new Message('a'));
    await channel.dispatch(listener.id, new Message('b'));
    const stream = channel.messageStream(listener);
    expect((await stream.next()).value).toBe('a');
    const next = track(stream.next());
    await nextTurn();
    expect(next.settled()).toBe(false);
    expect(listener.live).toBe(1);
    expect(jest.getTimerCount()).toBe(1);
    listener.stop();
    expect(await next.promise).toEqual({ done: true, value: undefined });
    expect(listener.live).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
    expect((channel.getConnection(listener.id).queue as InMemoryQueue).peekAll().map((m) => m.type)).toEqual(['b']);
  });

  it('releases the stop callback of each delay it completes', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    const channel = new TextChannel({ streamDelaySeconds: 1 });
    const listener = new StopCallbackCountingListener();
    await channel.registerListener(listener);
    listener.start();
    for (let i = 0; i < 50; i++) await channel.dispatch(listener.id, new Message('n', i));
    const stream = channel.messageStream(listener);
    for (let i = 0; i < 50; i++) {
      const next = stream.next();
      await jest.advanceTimersByTimeAsync(1000);
      expect((await next).value).toBe(`n:${i}`);
      expect(listener.live).toBeLessThanOrEqual(1);
    }
    listener.stop();
    expect((await stream.next()).done).toBe(true);
    expect(listener.live).toBe(0);
  });
});

describe('watch', () => {
  it('adds a started listener before it resolves, and streams it', async () => {
    const channel = new TextChannel();
    const existing = await channel.addListener();
    const stream = await channel.watch();
    const connections = channel.getConnections();
    expect(connections).toHaveLength(2);
    const watcher = connections[1].listener;
    expect(watcher).not.toBe(existing);
    expect(watcher.isRunning()).toBe(true);
    const first = track(stream.next());
    await nextTurn();
    expect(first.settled()).toBe(false);

    await channel.broadcast(new Message('news', 'x'));
    expect((await first.promise).value).toBe('news:"x"');
    await channel.dispatch(watcher.id, new Message('direct'));
    expect((await stream.next()).value).toBe('direct');
    await channel.removeListener(watcher.id);
    expect((await stream.next()).done).toBe(true);
  });

  it('keeps what is broadcast between watch() and the first read', async () => {
    const channel = new TextChannel();
    const stream = await channel.watch();
    await channel.broadcast(new Message('early', 1));
    await channel.broadcast(new Message('later', 2));
    expect((await stream.next()).value).toBe('early:1');
    expect((await stream.next()).value).toBe('later:2');
    await stream.return(undefined);
  });

  it('removes its listener when the consumer leaves the stream', async () => {
    const channel = new TextChannel();
    const stream = await channel.watch();
    const watcher = channel.getConnections()[0].listener;
    await channel.dispatch(watcher.id, new Message('only'));
    expect((await stream.next()).value).toBe('only');
    await stream.return(undefined);
    expect(channel.hasListener(watcher.id)).toBe(false);
    expect(watcher.isRunning()).toBe(false);
  });

  it('removes its listener when the stream is returned before its first read', async () => {
    const channel = new TextChannel();
    const stream = await channel.watch();
    const watcher = channel.getConnections()[0].listener;
    await stream.return(undefined);
    expect(channel.hasListener(watcher.id)).toBe(false);
    expect(watcher.isRunning()).toBe(false);
    expect((await stream.next()).done).toBe(true);
  });

  it('removes its listener when an error is thrown into the stream', async () => {
    const channel = new TextChannel();
    const stream = await channel.watch();
    await expect(stream.throw(new Error('consumer gave up'))).rejects.toThrow('consumer gave up');
    expect(channel.getConnections()).toHaveLength(0);
  });

  it('removes its listener when it is stopped', async () => {
    const channel = new TextChannel();
    const stream = await channel.watch();
    const ended = stream.next();
    await nextTurn();
    channel.getConnections()[0].listener.stop();
    expect((await ended).done).toBe(true);
    expect(channel.getConnections()).toHaveLength(0);
  });

  it('is iterable with for await, and leaving the loop removes the listener', async () => {
    const channel = new TextChannel();
    const stream = await channel.watch();
    await channel.broadcast(new Message('a'));
    for await (const event of stream) {
      expect(event).toBe('a');
      break;
    }
    expect(channel.getConnections()).toHaveLength(0);
  });
});
