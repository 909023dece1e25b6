import { afterEach, describe, expect, it, jest } from '@jest/globals';
import {
  Connection,
  InMemoryQueue,
  ListenerPump,
  Message,
  MessageQueueListener,
  SSEChannel,
  SseFrameCache,
  setEricLogger,
  type EncodedSseEvent,
  type MessageContract,
  type SseSink,
} from '../../src/index.js';
import { AsyncOnlyQueue, RecordingListener, deferred } from '../core/support.js';
import { nextTurn } from './support.js';

class RecordingSink implements SseSink {
  readonly events: EncodedSseEvent[] = [];
  readonly batches: number[] = [];
  ended = 0;
  failure: unknown;
  room = true;
  private readonly failedWith = deferred<unknown>();
  readonly failed = this.failedWith.promise;
  private readonly endedOnce = deferred<void>();
  readonly whenEnded = this.endedOnce.promise;
  private batch = 0;
  private readonly waiters: { count: number; resolve: () => void }[] = [];

  write(event: EncodedSseEvent): void {
    this.events.push(event);
    this.batch++;
    this.settle();
  }
  flush(): boolean {
    this.batches.push(this.batch);
    this.batch = 0;
    return this.room;
  }
  end(): void {
    this.ended++;
    this.endedOnce.resolve();
  }
  fail(error: unknown): void {
    this.failure = error;
    this.failedWith.resolve(error);
  }
  get types(): string[] {
    return this.events.map((e) => e.event as string);
  }
  waitFor(count: number): Promise<void> {
    if (this.events.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }
  private settle(): void {
    for (const w of this.waiters) if (this.events.length >= w.count) w.resolve();
  }
}

async function setup(options: { streamDelaySeconds?: number; listener?: MessageQueueListener } = {}) {
  const channel = new SSEChannel({ streamDelaySeconds: options.streamDelaySeconds });
  const listener = options.listener ?? new RecordingListener();
  await channel.registerListener(listener);
  const sink = new RecordingSink();
  const frames = new SseFrameCache();
  const pump = new ListenerPump({ channel, connection: channel.getConnection(listener.id), sink, frames });
  return { channel, listener, sink, frames, pump };
}

describe('ListenerPump', () => {
  afterEach(() => {
    jest.useRealTimers();
    setEricLogger();
  });

  it('starts the listener, delivers what was queued as one batch, then what arrives', async () => {
    const { channel, listener, sink, pump } = await setup();
    await channel.dispatch(listener.id, new Message('a'));
    await channel.dispatch(listener.id, new Message('b'));
    pump.start();
    expect(listener.isRunning()).toBe(true);
    await sink.waitFor(2);
    expect(sink.batches).toEqual([2]);
    await channel.broadcast(new Message('c'));
    await sink.waitFor(3);
    expect(sink.types).toEqual(['a', 'b', 'c']);
    expect((listener as RecordingListener).received.map((m) => m.type)).toEqual(['a', 'b', 'c']);
  });

  it('takes nothing from the queue while the sink is full, and resumes where it stopped', async () => {
    const { channel, listener, sink, pump } = await setup();
    sink.room = false;
    pump.start();
    await channel.dispatch(listener.id, new Message('a'));
    await sink.waitFor(1);
    await channel.dispatch(listener.id, new Message('b'));
    await channel.dispatch(listener.id, new Message('c'));
    await nextTurn();
    expect(sink.types).toEqual(['a']);
    expect(channel.getConnection(listener.id).queue.popNow?.()).toEqual(new Message('b'));
    sink.room = true;
    pump.resume();
    pump.resume(); // a second resume changes nothing
    await sink.waitFor(2);
    expect(sink.types).toEqual(['a', 'c']);
  });

  it('splits a long queue into batches of at most maxBatchBytes, one per turn', async () => {
    const channel = new SSEChannel();
    const listener = await channel.addListener();
    const sink = new RecordingSink();
    for (let i = 0; i < 10; i++) await channel.dispatch(listener.id, new Message('n', 'x'.repeat(40)));
    const pump = new ListenerPump({
      channel,
      connection: channel.getConnection(listener.id),
      sink,
      frames: new SseFrameCache(),
      maxBatchBytes: 150,
    });
    pump.start();
    await sink.waitFor(10);
    expect(sink.batches).toEqual([3, 3, 3, 1]);
  });

  it('ends the sink when the listener stops, at once when idle', async () => {
    const { listener, sink, pump } = await setup();
    pump.start();
    await nextTurn();
    listener.stop();
    expect(sink.ended).toBe(1);
    expect(pump.isStreaming).toBe(false);
    expect(pump.close()).toBe(false);
  });

  it('delivers the message that stopped the listener, then ends', async () => {
    const { channel, listener, sink, pump } = await setup();
    await channel.dispatch(listener.id, new Message('a'));
    await channel.dispatch(listener.id, new Message('bye'));
    await channel.dispatch(listener.id, new Message('after'));
    pump.start();
    await sink.waitFor(2);
    expect(sink.types).toEqual(['a', 'bye']);
    expect(sink.ended).toBe(1);
    expect(channel.getConnection(listener.id).queue.popNow?.()).toEqual(new Message('after'));
  });

  it('close() detaches without stopping the listener or ending the sink', async () => {
    const { channel, listener, sink, pump } = await setup();
    pump.start();
    await nextTurn();
    expect(pump.close()).toBe(true);
    await channel.dispatch(listener.id, new Message('kept'));
    await nextTurn();
    expect(sink.events).toEqual([]);
    expect(sink.ended).toBe(0);
    expect(listener.isRunning()).toBe(true);
    listener.stop();
    expect(sink.ended).toBe(0);
  });

  it('awaits an async onMessage before delivering, keeping the order', async () => {
    const gate = deferred<void>();
    class SlowListener extends MessageQueueListener {
      override onMessage(msg: MessageContract): void | Promise<void> {
        return msg.type === 'slow' ? gate.promise : undefined;
      }
    }
    const { channel, listener, sink, pump } = await setup({ listener: new SlowListener() });
    for (const type of ['a', 'slow', 'b']) await channel.dispatch(listener.id, new Message(type));
    pump.start();
    await sink.waitFor(1);
    await nextTurn();
    expect(sink.types).toEqual(['a']);
    listener.stop(); // while onMessage is in flight: the message still goes out, then the stream ends
    expect(sink.ended).toBe(0);
    gate.resolve();
    await sink.waitFor(2);
    expect(sink.types).toEqual(['a', 'slow']);
    expect(sink.ended).toBe(1);
  });

  it('fails the sink when onMessage throws or rejects', async () => {
    class Throwing extends MessageQueueListener {
      override onMessage(msg: MessageContract): void | Promise<void> {
        if (msg.type === 'throw') throw new Error('sync boom');
        if (msg.type === 'reject') return Promise.reject(new Error('async boom'));
      }
    }
    for (const type of ['throw', 'reject']) {
      const { channel, listener, sink, pump } = await setup({ listener: new Throwing() });
      await channel.dispatch(listener.id, new Message(type));
      pump.start();
      expect(((await sink.failed) as Error).message).toMatch(/boom/);
      expect(pump.isStreaming).toBe(false);
    }
  });

  it('skips a message that cannot be encoded, logging it once for all listeners', async () => {
    const errors: string[] = [];
    setEricLogger({ debug: () => {}, error: (message) => errors.push(message) });
    const channel = new SSEChannel({ channelId: 'c' });
    const frames = new SseFrameCache();
    const sinks = [new RecordingSink(), new RecordingSink()];
    for (const sink of sinks) {
      const listener = await channel.addListener();
      new ListenerPump({ channel, connection: channel.getConnection(listener.id), sink, frames }).start();
    }
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await channel.broadcast({ type: 'bad', payload: circular as never });
    await channel.broadcast(new Message('good', 1));
    await Promise.all(sinks.map((s) => s.waitFor(1)));
    expect(sinks.map((s) => s.types)).toEqual([['good'], ['good']]);
    expect(errors).toEqual(["Message 'bad' on channel c cannot be sent over SSE; skipped"]);
  });

  it('honours streamDelaySeconds: one message per delay, and a stop ends the wait', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    const { channel, listener, sink, pump } = await setup({ streamDelaySeconds: 1 });
    for (const type of ['a', 'b', 'c']) await channel.dispatch(listener.id, new Message(type));
    pump.start();
    await sink.waitFor(1);
    await nextTurn();
    expect(sink.types).toEqual(['a']);
    jest.advanceTimersByTime(1000);
    await sink.waitFor(2);
    expect(sink.types).toEqual(['a', 'b']);
    listener.stop();
    expect(sink.ended).toBe(1);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('streams a queue without popNow, event driven', async () => {
    const channel = new SSEChannel();
    const queue = new AsyncOnlyQueue();
    const listener = new MessageQueueListener();
    await channel.registerConnection(new Connection(listener, queue));
    const sink = new RecordingSink();
    const pump = new ListenerPump({
      channel,
      connection: channel.getConnection(listener.id),
      sink,
      frames: new SseFrameCache(),
    });
    await queue.push(new Message('a'));
    pump.start();
    await sink.waitFor(1);
    await channel.dispatch(listener.id, new Message('b'));
    await sink.waitFor(2);
    expect(sink.types).toEqual(['a', 'b']);
    listener.stop(); // a pop is in flight: the stream ends once it settles
    await sink.whenEnded;
    expect(sink.ended).toBe(1);
  });

  it('gives a message back when the stream closes while its pop is in flight', async () => {
    const channel = new SSEChannel();
    const queue = new AsyncOnlyQueue();
    const listener = new MessageQueueListener();
    await channel.registerConnection(new Connection(listener, queue));
    const sink = new RecordingSink();
    const pump = new ListenerPump({
      channel,
      connection: channel.getConnection(listener.id),
      sink,
      frames: new SseFrameCache(),
    });
    queue.holdPops = true;
    await queue.push(new Message('kept'));
    pump.start();
    while (!queue.popInFlight) await nextTurn();
    pump.close();
    queue.releasePop();
    while (queue.items.length === 0) await nextTurn();
    expect(queue.items).toEqual([new Message('kept')]);
    expect(sink.events).toEqual([]);
  });

  it('fails the sink when the queue fails', async () => {
    const channel = new SSEChannel();
    const queue = new AsyncOnlyQueue();
    queue.pop = () => Promise.reject(new Error('store down'));
    const listener = new MessageQueueListener();
    await channel.registerConnection(new Connection(listener, queue));
    const sink = new RecordingSink();
    const pump = new ListenerPump({
      channel,
      connection: channel.getConnection(listener.id),
      sink,
      frames: new SseFrameCache(),
    });
    await queue.push(new Message('a'));
    pump.start();
    expect(((await sink.failed) as Error).message).toBe('store down');
  });

  it('fails the sink when onMessage throws on the general path', async () => {
    class Throwing extends MessageQueueListener {
      override onMessage(): void {
        throw new Error('sync boom');
      }
    }
    const channel = new SSEChannel();
    const listener = new Throwing();
    await channel.registerConnection(new Connection(listener, new AsyncOnlyQueue()));
    const sink = new RecordingSink();
    new ListenerPump({
      channel,
      connection: channel.getConnection(listener.id),
      sink,
      frames: new SseFrameCache(),
    }).start();
    await channel.dispatch(listener.id, new Message('a'));
    expect(((await sink.failed) as Error).message).toBe('sync boom');
  });

  it('logs a sink that throws on end without disturbing listener.stop()', async () => {
    const errors: string[] = [];
    setEricLogger({ debug: () => {}, error: (message) => errors.push(message) });
    const { listener, sink, pump } = await setup();
    sink.end = () => {
      throw new Error('end failed');
    };
    pump.start();
    await nextTurn();
    expect(() => listener.stop()).not.toThrow();
    expect(errors).toEqual(['Ending an SSE stream failed']);
    expect(pump.isStreaming).toBe(false);
  });

  it('keeps running the other pumps of a turn when one throws', async () => {
    const errors: string[] = [];
    setEricLogger({ debug: () => {}, error: (message) => errors.push(message) });
    const channel = new SSEChannel();
    const queue = new InMemoryQueue();
    queue.onReady = () => {
      throw new Error('store gone');
    };
    const broken = new MessageQueueListener();
    await channel.registerConnection(new Connection(broken, queue));
    new ListenerPump({
      channel,
      connection: channel.getConnection(broken.id),
      sink: new RecordingSink(),
      frames: new SseFrameCache(),
    }).start();
    const good = await setup();
    good.pump.start(); // runs in the same turn, after the broken one
    await nextTurn();
    expect(errors).toEqual(['An SSE stream step failed']);
    await good.channel.dispatch(good.listener.id, new Message('ok'));
    await good.sink.waitFor(1);
  });
});
