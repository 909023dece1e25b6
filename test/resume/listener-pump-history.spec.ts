import { afterEach, describe, expect, it } from '@jest/globals';
import {
  EncodedSseEvent,
  ID_ONLY_SSE_EVENT,
  InMemorySseHistory,
  ListenerPump,
  Message,
  MESSAGE_TYPE_HISTORY_GAP,
  MessageQueueListener,
  SSEChannel,
  SseFrameCache,
  setEricLogger,
  InMemoryQueue,
  MAX_BATCHES_BEING_NUMBERED,
  type HistoryReplay,
  type ListenerHistory,
  type MessageContract,
  type SseEventId,
  type SseSink,
} from '../../src/index.js';
import { deferred } from '../core/support.js';
import { nextTurn } from '../streaming/support.js';

type Deferred<T> = ReturnType<typeof deferred<T>>;

/** Keeps what it is written: `[event type, id]` per event. */
class IdSink implements SseSink {
  readonly written: [string | undefined, string | undefined][] = [];
  /** The ids of the id-only events (resume points) written, apart from the events. */
  readonly resumePoints: string[] = [];
  readonly batches: number[] = [];
  failure: unknown;
  private batch = 0;
  private waiters: (() => void)[] = [];

  write(event: EncodedSseEvent, id: SseEventId | undefined): void {
    if (event === ID_ONLY_SSE_EVENT) {
      this.resumePoints.push(String(id));
      return;
    }
    this.written.push([event.event, id === undefined ? undefined : String(id)]);
    this.batch++;
  }
  flush(): boolean {
    if (this.batch > 0) this.batches.push(this.batch);
    this.batch = 0;
    for (const wake of this.waiters.splice(0)) wake();
    return true;
  }
  end(): void {}
  fail(error: unknown): void {
    this.failure = error;
    for (const wake of this.waiters.splice(0)) wake();
  }
  async waitFor(count: number): Promise<void> {
    while (this.written.length < count && this.failure === undefined) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
}

/** A history kept "elsewhere": each `record` and `replay` waits until the test settles it. */
class RemoteHistory implements ListenerHistory {
  readonly records: { events: readonly EncodedSseEvent[]; answer: Deferred<number> }[] = [];
  readonly replays: { after: number; answer: Deferred<HistoryReplay | undefined> }[] = [];
  private waiters: (() => void)[] = [];

  record(events: readonly EncodedSseEvent[]): Promise<number> {
    const answer = deferred<number>();
    this.records.push({ events, answer });
    for (const wake of this.waiters.splice(0)) wake();
    return answer.promise;
  }

  /** The last id the test numbered: where a stream without a known id starts. */
  last = 0;

  open(lastEventId: number | undefined): HistoryReplay | Promise<HistoryReplay> {
    const fromLast = (): HistoryReplay => ({ events: [], firstId: this.last + 1, gap: false });
    if (lastEventId === undefined) return fromLast();
    return this.replay(lastEventId).then((held) => held ?? fromLast());
  }

  markUnconfirmed(): void {}

  replay(after: number): Promise<HistoryReplay | undefined> {
    const answer = deferred<HistoryReplay | undefined>();
    this.replays.push({ after, answer });
    for (const wake of this.waiters.splice(0)) wake();
    return answer.promise;
  }

  async nextRecord(index: number) {
    while (this.records.length <= index) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.records[index];
  }
}

async function setup(history: ListenerHistory | 'memory', listener = new MessageQueueListener()) {
  const channel = new SSEChannel();
  await channel.registerListener(listener);
  const connection = channel.getConnection(listener.id);
  const sink = new IdSink();
  const h = history === 'memory' ? new InMemorySseHistory({ maxEvents: 3 }).forListener(channel, connection) : history;
  const pump = new ListenerPump({ channel, connection, sink, frames: new SseFrameCache(), history: h });
  const send = async (...types: string[]) => {
    for (const type of types) await channel.dispatch(listener.id, new Message(type));
  };
  return { channel, listener, connection, sink, pump, send, history: h };
}

describe('ListenerPump with a history', () => {
  afterEach(() => {
    setEricLogger();
  });

  it('in memory: numbers each event as it is written', async () => {
    const { sink, pump, send } = await setup('memory');
    await send('a', 'b');
    pump.start();
    await sink.waitFor(2);
    await send('c');
    await sink.waitFor(3);
    expect(sink.written).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
    ]);
    expect(sink.resumePoints).toEqual(['0']);
    expect(sink.batches[0]).toBe(2);
  });

  it('starts with a resume point, the last id given, before any message, in its own flush', async () => {
    const { sink, pump, send, history } = await setup('memory');
    history.record([1, 2].map((n) => new EncodedSseEvent({ event: `h${n}`, data: n })));
    await send('q');
    pump.start();
    // Written and flushed at once, before the queue is read: a client that got the response has an id.
    expect(sink.resumePoints).toEqual(['2']);
    expect(sink.written).toEqual([]);
    await sink.waitFor(1);
    expect(sink.written).toEqual([['q', '3']]);
  });

  it('a client already up to date, or with an id the history never gave, gets the last id as its resume point', async () => {
    const upToDate = await setup('memory');
    upToDate.history.record([new EncodedSseEvent({ event: 'h', data: 1 })]);
    upToDate.pump.start(1);
    expect(upToDate.sink.resumePoints).toEqual(['1']);
    const unknown = await setup('memory');
    unknown.history.record([new EncodedSseEvent({ event: 'h', data: 1 })]);
    unknown.pump.start(42);
    expect(unknown.sink.resumePoints).toEqual(['1']);
    expect(unknown.sink.written).toEqual([]);
  });

  it('a replay is its own resume point: no id-only event before it', async () => {
    const { sink, pump, history } = await setup('memory');
    history.record([1, 2].map((n) => new EncodedSseEvent({ event: `h${n}`, data: n })));
    pump.start(1);
    expect(sink.written).toEqual([['h2', '2']]);
    expect(sink.resumePoints).toEqual([]);
  });

  it('in memory: a resumed stream gets the gap marker (id before the first held), the history, then the queue', async () => {
    const { sink, pump, send, history } = await setup('memory');
    history.record([1, 2, 3, 4, 5].map((n) => new EncodedSseEvent({ event: `h${n}`, data: n })));
    await send('q');
    pump.start(1); // 2 is gone: the history holds 3..5
    await sink.waitFor(5);
    expect(sink.written).toEqual([
      [MESSAGE_TYPE_HISTORY_GAP, '2'],
      ['h3', '3'],
      ['h4', '4'],
      ['h5', '5'],
      ['q', '6'],
    ]);
    expect(sink.batches[0]).toBe(4); // the replay is one batch, ahead of the queue
  });

  it('elsewhere: numbers each batch in one call, goes on taking meanwhile, and writes batches in order', async () => {
    const remote = new RemoteHistory();
    const { sink, pump, send } = await setup(remote);
    await send('a', 'b');
    pump.start();
    const first = await remote.nextRecord(0);
    expect(first.events.map((e) => e.event)).toEqual(['a', 'b']);
    await send('c'); // taken while the first batch is being numbered
    const second = await remote.nextRecord(1);
    expect(second.events.map((e) => e.event)).toEqual(['c']);
    second.answer.resolve(12);
    await nextTurn();
    expect(sink.written).toEqual([]); // not before the batch ahead of it
    first.answer.resolve(10);
    await sink.waitFor(3);
    expect(sink.written).toEqual([
      ['a', '10'],
      ['b', '11'],
      ['c', '12'],
    ]);
    expect(sink.batches).toEqual([3]);
  });

  it(`elsewhere: stops taking while ${MAX_BATCHES_BEING_NUMBERED} batches are being numbered`, async () => {
    const remote = new RemoteHistory();
    const { sink, pump, send, connection } = await setup(remote);
    pump.start();
    for (let i = 0; i < MAX_BATCHES_BEING_NUMBERED; i++) {
      await send(`m${i}`);
      await remote.nextRecord(i);
    }
    await send('over');
    await nextTurn();
    await nextTurn();
    expect(remote.records).toHaveLength(MAX_BATCHES_BEING_NUMBERED);
    expect((connection.queue as InMemoryQueue).size).toBe(1); // left in the queue
    remote.records[0].answer.resolve(1);
    const next = await remote.nextRecord(MAX_BATCHES_BEING_NUMBERED);
    expect(next.events.map((e) => e.event)).toEqual(['over']);
    await sink.waitFor(1);
    expect(sink.written).toEqual([['m0', '1']]);
  });

  it('elsewhere: a listener stopped while batches are being numbered ends the stream once they are written', async () => {
    const remote = new RemoteHistory();
    const ended = deferred<void>();
    const { sink, pump, send, listener } = await setup(remote);
    sink.end = () => ended.resolve();
    await send('a');
    pump.start();
    const record = await remote.nextRecord(0);
    listener.stop();
    await nextTurn();
    expect(pump.isStreaming).toBe(true);
    record.answer.resolve(1);
    await ended.promise;
    expect(sink.written).toEqual([['a', '1']]);
    expect(pump.isStreaming).toBe(false);
  });

  it('elsewhere: the replay goes first, even with messages queued, then the queue is numbered', async () => {
    const remote = new RemoteHistory();
    const { sink, pump, send } = await setup(remote);
    await send('q');
    pump.start(4);
    await nextTurn();
    expect(remote.replays.map((r) => r.after)).toEqual([4]);
    expect(remote.records).toEqual([]);
    remote.replays[0].answer.resolve({
      events: [new EncodedSseEvent({ event: 'h5', data: 5 })],
      firstId: 5,
      gap: false,
    });
    (await remote.nextRecord(0)).answer.resolve(6);
    await sink.waitFor(2);
    expect(sink.written).toEqual([
      ['h5', '5'],
      ['q', '6'],
    ]);
  });

  it('elsewhere: an id the history does not know starts from the queue', async () => {
    const remote = new RemoteHistory();
    const { sink, pump, send } = await setup(remote);
    await send('q');
    pump.start(99);
    await nextTurn();
    remote.last = 7;
    remote.replays[0].answer.resolve(undefined);
    (await remote.nextRecord(0)).answer.resolve(8);
    await sink.waitFor(1);
    expect(sink.resumePoints).toEqual(['7']);
    expect(sink.written).toEqual([['q', '8']]);
  });

  it('elsewhere: a client that leaves while its batch is numbered is written nothing more (the batch is in the history)', async () => {
    const remote = new RemoteHistory();
    const { sink, pump, send, connection } = await setup(remote);
    await send('a');
    pump.start();
    const record = await remote.nextRecord(0);
    expect(pump.close()).toBe(true);
    record.answer.resolve(1);
    await nextTurn();
    expect(sink.written).toEqual([]);
    expect(connection.queue.popNow?.()).toBeUndefined();
  });

  it('elsewhere: when numbering fails, logs it and writes the batch with the current position as id', async () => {
    const errors: string[] = [];
    setEricLogger({ debug: () => {}, error: (message) => errors.push(message) });
    const remote = new RemoteHistory();
    const { sink, pump, send } = await setup(remote);
    await send('a');
    pump.start(3);
    await nextTurn();
    remote.replays[0].answer.resolve({ events: [], firstId: 4, gap: false });
    (await remote.nextRecord(0)).answer.reject(new Error('Redis is gone'));
    await sink.waitFor(1);
    // The client keeps 3 as its last id: resuming later neither skips nor repeats what the history holds.
    expect(sink.written).toEqual([['a', '3']]);
    expect(errors).toEqual([expect.stringContaining('Numbering 1 SSE event(s) of listener')]);
    await send('b');
    (await remote.nextRecord(1)).answer.resolve(4);
    await sink.waitFor(2);
    expect(sink.written.at(-1)).toEqual(['b', '4']);
  });

  it('elsewhere: a failed replay fails the stream', async () => {
    const remote = new RemoteHistory();
    const { sink, pump } = await setup(remote);
    pump.start(1);
    await nextTurn();
    remote.replays[0].answer.reject(new Error('unreachable'));
    await sink.waitFor(1);
    expect((sink.failure as Error).message).toBe('unreachable');
    expect(pump.isStreaming).toBe(false);
  });

  it('elsewhere: with an async onMessage mid-batch, what came before is numbered and written first', async () => {
    const gate = deferred<void>();
    class SlowListener extends MessageQueueListener {
      override onMessage(msg: MessageContract): void | Promise<void> {
        return msg.type === 'slow' ? gate.promise : undefined;
      }
    }
    const remote = new RemoteHistory();
    const { sink, pump, send } = await setup(remote, new SlowListener());
    await send('a', 'slow', 'b');
    pump.start();
    (await remote.nextRecord(0)).answer.resolve(1);
    gate.resolve();
    const slow = await remote.nextRecord(1);
    expect(slow.events.map((e) => e.event)).toEqual(['slow']);
    slow.answer.resolve(2);
    (await remote.nextRecord(2)).answer.resolve(3);
    await sink.waitFor(3);
    expect(sink.written).toEqual([
      ['a', '1'],
      ['slow', '2'],
      ['b', '3'],
    ]);
  });

  it('elsewhere: on a rate-limited channel, numbers one message at a time', async () => {
    const remote = new RemoteHistory();
    const channel = new SSEChannel({ streamDelaySeconds: 0.001 });
    const listener = await channel.addListener();
    const sink = new IdSink();
    const connection = channel.getConnection(listener.id);
    const pump = new ListenerPump({ channel, connection, sink, frames: new SseFrameCache(), history: remote });
    await channel.dispatch(listener.id, new Message('a'));
    await channel.dispatch(listener.id, new Message('b'));
    pump.start();
    const first = await remote.nextRecord(0);
    expect(first.events).toHaveLength(1);
    first.answer.resolve(1);
    (await remote.nextRecord(1)).answer.resolve(2);
    await sink.waitFor(2);
    expect(sink.written).toEqual([
      ['a', '1'],
      ['b', '2'],
    ]);
    listener.stop();
  });
});
