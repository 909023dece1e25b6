import { afterEach, describe, expect, it } from '@jest/globals';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { threadId } from 'node:worker_threads';
import {
  AsyncExecutor,
  Connection,
  DataProcessingChannel,
  EricSseException,
  InMemoryQueue,
  InvalidConfigurationException,
  MESSAGE_TYPE_INTERNAL_ERROR,
  Message,
  MessageQueueListener,
  WorkerPoolExecutor,
  setEricLogger,
  type ConnectionsFactory,
  type MessageContract,
  type MessageExecutor,
  type ProcessedEvent,
  type Queue,
} from '../../src/index.js';

const TASKS_URL = new URL('../fixtures/data-processing-tasks.mjs', import.meta.url);

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

async function collect(stream: AsyncIterable<ProcessedEvent>): Promise<ProcessedEvent[]> {
  const events: ProcessedEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

/** One turn of the event loop, so every job already queued has run. Not a timer: nothing is waited for. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A listener whose handler holds each message (keyed by its payload) until the test releases it. */
class GatedListener extends MessageQueueListener {
  inFlight = 0;
  maxInFlight = 0;
  readonly started: string[] = [];
  private readonly gates = new Map<string, Deferred<void>>();
  private waiters: { count: number; resolve: () => void }[] = [];

  override async onMessage(msg: MessageContract): Promise<void> {
    const key = String(msg.payload);
    const gate = deferred();
    this.gates.set(key, gate);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.started.push(key);
    this.waiters = this.waiters.filter((waiter) => {
      if (this.started.length < waiter.count) return true;
      waiter.resolve();
      return false;
    });
    try {
      await gate.promise;
    } finally {
      this.inFlight--;
    }
  }

  /** Resolves once `count` messages have reached the handler. */
  untilStarted(count: number): Promise<void> {
    if (this.started.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  /** Keys of the messages started and not released yet, oldest first. */
  held(): string[] {
    return [...this.gates.keys()];
  }

  release(key: string): void {
    const gate = this.gates.get(key);
    if (gate === undefined) throw new Error(`message ${key} is not held`);
    this.gates.delete(key);
    gate.resolve();
  }
}

/** Records every message handed to it, synchronously. */
class RecordingListener extends MessageQueueListener {
  readonly received: MessageContract[] = [];
  override onMessage(msg: MessageContract): void {
    this.received.push(msg);
  }
}

async function channelWith<L extends MessageQueueListener>(
  listener: L,
  maxWorkers: number,
  payloads: readonly string[] = [],
  channel = new DataProcessingChannel({ maxWorkers }),
): Promise<{ channel: DataProcessingChannel; listener: L; queue: InMemoryQueue }> {
  await channel.registerListener(listener);
  for (const payload of payloads) await channel.dispatch(listener.id, new Message('job', payload));
  const queue = channel.getConnection(listener.id).queue as InMemoryQueue;
  return { channel, listener, queue };
}

function captureErrors(): { logged: { message: string; error: unknown }[]; restore: () => void } {
  const logged: { message: string; error: unknown }[] = [];
  setEricLogger({ debug: () => {}, error: (message, error) => logged.push({ message, error }) });
  return { logged, restore: () => setEricLogger() };
}

const data = (events: ProcessedEvent[]): unknown[] => events.map((e) => e.data);

describe('DataProcessingChannel options', () => {
  it('keeps maxWorkers and channel options, and reports them in toData()', () => {
    const channel = new DataProcessingChannel({ maxWorkers: 4, streamDelaySeconds: 0.5, channelId: 'jobs' });
    expect(channel.maxWorkers).toBe(4);
    expect(channel.executor).toBeInstanceOf(AsyncExecutor);
    expect(channel.toData()).toEqual({ channelId: 'jobs', streamDelaySeconds: 0.5, maxWorkers: 4 });
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '2', undefined])(
    'rejects maxWorkers = %p with InvalidConfigurationException',
    (maxWorkers) => {
      expect(() => new DataProcessingChannel({ maxWorkers: maxWorkers as number })).toThrow(
        InvalidConfigurationException,
      );
      expect(() => new DataProcessingChannel({ maxWorkers: maxWorkers as number })).toThrow(/maxWorkers/);
    },
  );

  it('rejects a missing options object naming maxWorkers', () => {
    expect(() => new DataProcessingChannel(undefined as never)).toThrow(/maxWorkers must be an integer >= 1/);
  });

  it('rejects a negative streamDelaySeconds', () => {
    expect(() => new DataProcessingChannel({ maxWorkers: 1, streamDelaySeconds: -1 })).toThrow(
      InvalidConfigurationException,
    );
    expect(() => new DataProcessingChannel({ maxWorkers: 1, streamDelaySeconds: -1 })).toThrow(/streamDelaySeconds/);
  });

  it.each([{}, { run: 'not a function' }, 'executor'])('rejects executor = %p', (executor) => {
    expect(() => new DataProcessingChannel({ maxWorkers: 1, executor: executor as never })).toThrow(
      InvalidConfigurationException,
    );
    expect(() => new DataProcessingChannel({ maxWorkers: 1, executor: executor as never })).toThrow(/executor/);
  });

  it('adapts a message to { event, data }', () => {
    const channel = new DataProcessingChannel({ maxWorkers: 1 });
    expect(channel.adapt(new Message('job', { n: 1 }))).toEqual({ event: 'job', data: { n: 1 } });
    expect(channel.adapt(new Message('ping'))).toEqual({ event: 'ping', data: undefined });
  });
});

describe('DataProcessingChannel.processQueue', () => {
  it('hands every queued message to onMessage and yields it, then ends with the queue empty', async () => {
    const { channel, listener, queue } = await channelWith(new RecordingListener(), 2, ['a', 'b', 'c', 'd', 'e']);
    const events = await collect(channel.processQueue(listener));
    expect(events).toEqual(['a', 'b', 'c', 'd', 'e'].map((p) => ({ event: 'job', data: p })));
    expect(listener.received.map((m) => m.payload)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(queue.size).toBe(0);
  });

  it('accepts a listener id', async () => {
    const { channel, listener } = await channelWith(new RecordingListener(), 1, ['a']);
    expect(data(await collect(channel.processQueue(listener.id)))).toEqual(['a']);
  });

  it('ends at once on an empty queue', async () => {
    const { channel, listener } = await channelWith(new RecordingListener(), 3);
    expect(await collect(channel.processQueue(listener))).toEqual([]);
  });

  it('never runs more than maxWorkers handlers at once', async () => {
    const keys = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
    const { channel, listener, queue } = await channelWith(new GatedListener(), 3, keys);
    const stream = channel.processQueue(listener);
    const first = stream.next();
    await listener.untilStarted(3);
    await turn();
    expect(listener.started).toEqual(['0', '1', '2']);
    expect(listener.inFlight).toBe(3);
    expect(queue.size).toBe(7);

    listener.release('1');
    expect((await first).value).toEqual({ event: 'job', data: '1' });
    await listener.untilStarted(4);
    await turn();
    expect(listener.started).toEqual(['0', '1', '2', '3']);
    expect(listener.inFlight).toBe(3);

    // Release the newest held message each time: later messages overtake earlier ones.
    const rest: unknown[] = [];
    for (let read = 1; read < keys.length; read++) {
      const next = stream.next();
      listener.release(listener.held().at(-1)!);
      rest.push((await next).value?.data);
      expect(listener.inFlight).toBe(Math.min(3, keys.length - read - 1));
    }
    expect(await stream.next()).toEqual({ done: true, value: undefined });
    expect(listener.maxInFlight).toBe(3);
    expect(rest.sort()).toEqual(['0', '2', '3', '4', '5', '6', '7', '8', '9']);
  });

  it('yields in order of completion: a slow first message comes after a fast second one', async () => {
    const { channel, listener } = await channelWith(new GatedListener(), 2, ['slow', 'fast']);
    const events = collect(channel.processQueue(listener));
    await listener.untilStarted(2);
    listener.release('fast');
    await turn();
    listener.release('slow');
    expect(data(await events)).toEqual(['fast', 'slow']);
  });

  it('processes messages queued while it drains, starting them while others are in flight', async () => {
    const { channel, listener } = await channelWith(new GatedListener(), 2, ['a']);
    const events = collect(channel.processQueue(listener));
    await listener.untilStarted(1);
    await channel.dispatch(listener.id, new Message('job', 'b'));
    await listener.untilStarted(2); // b runs beside a: a free slot woke the drain
    expect(listener.inFlight).toBe(2);
    listener.release('b');
    await turn();
    await channel.dispatch(listener.id, new Message('job', 'c'));
    await listener.untilStarted(3);
    listener.release('a');
    listener.release('c');
    expect(data(await events)).toEqual(['b', 'a', 'c']);
  });

  it('processes messages that a handler queues for its own listener', async () => {
    const channel = new DataProcessingChannel({ maxWorkers: 2 });
    const listener = new (class extends MessageQueueListener {
      override async onMessage(msg: MessageContract): Promise<void> {
        const n = msg.payload as number;
        if (n < 3) await channel.dispatch(this.id, new Message('job', n + 1));
      }
    })();
    await channel.registerListener(listener);
    await channel.dispatch(listener.id, new Message('job', 0));
    expect(data(await collect(channel.processQueue(listener)))).toEqual([0, 1, 2, 3]);
  });

  it('takes no more than maxWorkers messages ahead of its consumer', async () => {
    const keys = ['0', '1', '2', '3', '4', '5'];
    const { channel, listener, queue } = await channelWith(new RecordingListener(), 2, keys);
    const stream = channel.processQueue(listener);
    expect((await stream.next()).value).toEqual({ event: 'job', data: '0' });
    await turn();
    // '0' is with the consumer; '1' and '2' are taken ahead of it, the rest wait in the queue.
    expect(listener.received.map((m) => m.payload)).toEqual(['0', '1', '2']);
    expect(queue.size).toBe(3);
    expect((await stream.next()).value).toEqual({ event: 'job', data: '1' });
    await turn();
    expect(listener.received).toHaveLength(4);
    expect(queue.size).toBe(2);
    await stream.return();
    expect(queue.peekAll().map((m) => m.payload)).toEqual(['4', '5']);
  });

  it('yields one error event naming InvalidListenerException for an unknown listener, then ends', async () => {
    const channel = new DataProcessingChannel({ maxWorkers: 1, channelId: 'c1' });
    const events = await collect(channel.processQueue('nobody'));
    expect(events).toHaveLength(1);
    expect(events[0].event).toBe('error');
    expect(events[0].data).toMatch(/InvalidListenerException.*nobody.*c1/);
  });

  it('turns a failing handler into a logged internal-error event and goes on', async () => {
    const listener = new (class extends MessageQueueListener {
      override onMessage(msg: MessageContract): void | Promise<void> {
        if (msg.type === 'throws') throw new TypeError('sync failure');
        if (msg.type === 'rejects') return Promise.reject(new RangeError('async failure'));
        if (msg.type === 'string') throw 'plain text';
        if (msg.type === 'bare') throw Object.create(null);
        if (msg.type === 'shaped') throw { message: 'error-shaped, no name' };
      }
    })();
    const { channel } = await channelWith(listener, 1);
    for (const type of ['throws', 'ok', 'rejects', 'string', 'bare', 'shaped', 'last']) {
      await channel.dispatch(listener.id, new Message(type, type));
    }
    const { logged, restore } = captureErrors();
    try {
      const events = await collect(channel.processQueue(listener));
      expect(events).toEqual([
        {
          event: MESSAGE_TYPE_INTERNAL_ERROR,
          data: { error: 'TypeError', message: 'sync failure', type: 'throws' },
        },
        { event: 'ok', data: 'ok' },
        {
          event: MESSAGE_TYPE_INTERNAL_ERROR,
          data: { error: 'RangeError', message: 'async failure', type: 'rejects' },
        },
        { event: MESSAGE_TYPE_INTERNAL_ERROR, data: { error: 'Error', message: 'plain text', type: 'string' } },
        { event: MESSAGE_TYPE_INTERNAL_ERROR, data: { error: 'Error', message: '[object Object]', type: 'bare' } },
        {
          event: MESSAGE_TYPE_INTERNAL_ERROR,
          data: { error: 'Error', message: 'error-shaped, no name', type: 'shaped' },
        },
        { event: 'last', data: 'last' },
      ]);
      expect(logged.map((l) => l.message)).toEqual([
        expect.stringContaining(`'throws' for listener ${listener.id}`),
        expect.stringContaining(`'rejects' for listener ${listener.id}`),
        expect.stringContaining(`'string' for listener ${listener.id}`),
        expect.stringContaining(`'bare' for listener ${listener.id}`),
        expect.stringContaining(`'shaped' for listener ${listener.id}`),
      ]);
      expect(logged[0].error).toBeInstanceOf(TypeError);
    } finally {
      restore();
    }
  });

  it('streams what the executor answers, or the message itself when it answers nothing', async () => {
    const executor: MessageExecutor = {
      run: async (_listener, msg) =>
        msg.type === 'square' ? new Message('squared', (msg.payload as number) ** 2) : undefined,
    };
    const channel = new DataProcessingChannel({ maxWorkers: 2, executor });
    const listener = await channel.addListener();
    await channel.dispatch(listener.id, new Message('square', 7));
    await channel.dispatch(listener.id, new Message('as-is', 'x'));
    expect(await collect(channel.processQueue(listener))).toEqual([
      { event: 'squared', data: 49 },
      { event: 'as-is', data: 'x' },
    ]);
  });

  it('logs and reports an executor whose run throws synchronously', async () => {
    const executor = {
      run: () => {
        throw new Error('no promise here');
      },
    } as unknown as MessageExecutor;
    const channel = new DataProcessingChannel({ maxWorkers: 1, executor });
    const listener = await channel.addListener();
    await channel.dispatch(listener.id, new Message('job'));
    const { logged, restore } = captureErrors();
    try {
      expect(await collect(channel.processQueue(listener))).toEqual([
        { event: MESSAGE_TYPE_INTERNAL_ERROR, data: { error: 'Error', message: 'no promise here', type: 'job' } },
      ]);
      expect(logged).toHaveLength(1);
    } finally {
      restore();
    }
  });
});

/** An in-process queue without the synchronous fast path, as a storage-backed queue would be. */
class AsyncOnlyQueue implements Queue {
  readonly inner = new InMemoryQueue();
  failNextPop: Error | undefined;
  push(msg: MessageContract): Promise<void> {
    return this.inner.push(msg);
  }
  pop(): Promise<MessageContract> {
    const error = this.failNextPop;
    this.failNextPop = undefined;
    return error === undefined ? this.inner.pop() : Promise.reject(error);
  }
  onReady(callback: () => void): () => void {
    return this.inner.onReady(callback);
  }
}

class AsyncOnlyConnectionsFactory implements ConnectionsFactory {
  readonly queues: AsyncOnlyQueue[] = [];
  create(listener: MessageQueueListener = new MessageQueueListener()): Connection {
    const queue = new AsyncOnlyQueue();
    this.queues.push(queue);
    return new Connection(listener, queue);
  }
}

describe('DataProcessingChannel.processQueue over a queue with only an async pop', () => {
  it('drains it, including messages queued mid-run, with the same concurrency limit', async () => {
    const factory = new AsyncOnlyConnectionsFactory();
    const channel = new DataProcessingChannel({ maxWorkers: 2, connectionsFactory: factory });
    const { listener } = await channelWith(new GatedListener(), 2, ['a', 'b', 'c'], channel);
    const events = collect(channel.processQueue(listener));
    await listener.untilStarted(2);
    await turn();
    expect(listener.started).toEqual(['a', 'b']);
    listener.release('b');
    await listener.untilStarted(3);
    await channel.dispatch(listener.id, new Message('job', 'd'));
    listener.release('c');
    await listener.untilStarted(4);
    listener.release('a');
    listener.release('d');
    expect(data(await events)).toEqual(['b', 'c', 'a', 'd']);
    expect(listener.maxInFlight).toBe(2);
    expect(factory.queues[0].inner.size).toBe(0);
  });

  it('stops with the queue error when a pop fails for another reason than an empty queue', async () => {
    const factory = new AsyncOnlyConnectionsFactory();
    const channel = new DataProcessingChannel({ maxWorkers: 1, connectionsFactory: factory });
    const { listener } = await channelWith(new RecordingListener(), 1, ['a'], channel);
    factory.queues[0].failNextPop = new Error('storage down');
    await expect(collect(channel.processQueue(listener))).rejects.toThrow('storage down');
    expect(factory.queues[0].inner.size).toBe(1);
  });
});

describe('DataProcessingChannel as a plain channel', () => {
  it('streams through messageStream, calling onMessage', async () => {
    const { channel, listener } = await channelWith(new RecordingListener(), 1, ['a']);
    listener.start();
    const stream = channel.messageStream(listener);
    expect((await stream.next()).value).toEqual({ event: 'job', data: 'a' });
    expect(listener.received).toHaveLength(1);
    listener.stop();
    expect((await stream.next()).done).toBe(true);
  });

  it('streams through watch', async () => {
    const channel = new DataProcessingChannel({ maxWorkers: 1 });
    const stream = await channel.watch();
    await channel.broadcast(new Message('news', 1));
    expect((await stream.next()).value).toEqual({ event: 'news', data: 1 });
    await stream.return();
  });

  it('close() closes its executor, and resolves for an executor with nothing to close', async () => {
    await expect(new DataProcessingChannel({ maxWorkers: 1 }).close()).resolves.toBeUndefined();
    let closed = 0;
    const executor: MessageExecutor = { run: async () => undefined, close: async () => void closed++ };
    await new DataProcessingChannel({ maxWorkers: 1, executor }).close();
    expect(closed).toBe(1);
  });
});

describe('WorkerPoolExecutor', () => {
  const executors: WorkerPoolExecutor[] = [];
  const pool = (options: Partial<ConstructorParameters<typeof WorkerPoolExecutor>[0]> = {}): WorkerPoolExecutor => {
    const executor = new WorkerPoolExecutor({ filename: TASKS_URL, maxThreads: 2, ...options });
    executors.push(executor);
    return executor;
  };

  afterEach(async () => {
    await Promise.all(executors.splice(0).map((executor) => executor.close()));
  });

  it('runs the task module off the main thread and streams its results; onMessage is not called', async () => {
    const executor = pool();
    const channel = new DataProcessingChannel({ maxWorkers: 2, executor });
    const { listener } = await channelWith(new RecordingListener(), 2, [], channel);
    for (const n of [1, 2, 3]) await channel.dispatch(listener.id, new Message('double', n));
    const events = await collect(channel.processQueue(listener));
    expect(events.map((e) => e.event)).toEqual(['double', 'double', 'double']);
    const results = events.map((e) => e.data as { type: string; doubled: number; threadId: number });
    expect(results.map((r) => r.doubled).sort()).toEqual([2, 4, 6]);
    expect(results.every((r) => r.type === 'double')).toBe(true);
    for (const r of results) expect(r.threadId).not.toBe(threadId);
    expect(listener.received).toEqual([]);
  });

  it('turns a task that throws into an internal-error event and goes on', async () => {
    const channel = new DataProcessingChannel({ maxWorkers: 1, executor: pool({ exportName: 'fail' }) });
    const listener = await channel.addListener();
    await channel.dispatch(listener.id, new Message('first'));
    await channel.dispatch(listener.id, new Message('second'));
    const { logged, restore } = captureErrors();
    try {
      expect(await collect(channel.processQueue(listener))).toEqual([
        {
          event: MESSAGE_TYPE_INTERNAL_ERROR,
          data: { error: 'TypeError', message: 'cannot process first', type: 'first' },
        },
        {
          event: MESSAGE_TYPE_INTERNAL_ERROR,
          data: { error: 'TypeError', message: 'cannot process second', type: 'second' },
        },
      ]);
      expect(logged).toHaveLength(2);
    } finally {
      restore();
    }
  });

  it('is closed by the channel: its threads end and later tasks are refused', async () => {
    const executor = pool();
    const channel = new DataProcessingChannel({ maxWorkers: 1, executor });
    const listener = await channel.addListener();
    await channel.dispatch(listener.id, new Message('double', 5));
    expect(data(await collect(channel.processQueue(listener)))).toEqual([expect.objectContaining({ doubled: 10 })]);
    expect(executor.threadCount).toBeGreaterThan(0);
    await channel.close();
    expect(executor.threadCount).toBe(0);
    await expect(executor.run(listener, new Message('double', 1))).rejects.toThrow(EricSseException);
    await expect(executor.run(listener, new Message('double', 1))).rejects.toThrow('WorkerPoolExecutor is closed');
    expect(executor.threadCount).toBe(0);
    await expect(executor.close()).resolves.toBeUndefined();
  });

  it('accepts an absolute path, a cwd-relative path and a file: URL string', async () => {
    const absolute = fileURLToPath(TASKS_URL);
    for (const filename of [absolute, relative(process.cwd(), absolute), TASKS_URL.href]) {
      const executor = pool({ filename, maxThreads: 1 });
      expect(executor.filename).toBe(absolute);
      const result = await executor.run(new MessageQueueListener(), new Message('double', 4));
      expect(result).toBeInstanceOf(Message);
      expect(result).toMatchObject({ type: 'double', payload: { type: 'double', doubled: 8 } });
    }
  });

  it.each([
    [{ filename: undefined }, /filename must be a non-empty string/],
    [{ filename: '' }, /filename must be a non-empty string/],
    [{ filename: 'test/fixtures/no-such-module.mjs' }, /filename .*no-such-module\.mjs does not exist/],
    [{ filename: new URL('https://example.com/tasks.mjs') }, /filename must be a file: URL or a path/],
    [{ exportName: '' }, /exportName/],
    [{ minThreads: -1 }, /minThreads must be an integer >= 0/],
    [{ maxThreads: 0 }, /maxThreads must be an integer >= 1/],
    [{ maxThreads: 1.5 }, /maxThreads must be an integer >= 1/],
    [{ minThreads: 3, maxThreads: 2 }, /minThreads \(3\) must not exceed maxThreads \(2\)/],
    [{ idleTimeout: -1 }, /idleTimeout/],
  ])('rejects %p with InvalidConfigurationException', (options, message) => {
    const make = () => new WorkerPoolExecutor({ filename: TASKS_URL, ...options } as never);
    expect(make).toThrow(InvalidConfigurationException);
    expect(make).toThrow(message);
  });

  it('rejects a missing options object naming filename', () => {
    expect(() => new WorkerPoolExecutor(undefined as never)).toThrow(/filename/);
  });

  it('passes thread settings to the pool', async () => {
    const executor = pool({ minThreads: 1, maxThreads: 1, idleTimeout: 1000 });
    await executor.run(new MessageQueueListener(), new Message('double', 1));
    expect(executor.threadCount).toBe(1);
  });
});
