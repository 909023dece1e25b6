import type { AbstractChannel } from '../core/channel.js';
import type { Connection } from '../core/connection.js';
import { NoMessagesException } from '../core/errors.js';
import { getEricLogger } from '../core/logger.js';
import type { MessageContract } from '../core/message.js';
import { ID_ONLY_SSE_EVENT, type EncodedSseEvent } from './encoded-sse-event.js';
import type { SseFrameCache } from './sse-frame-cache.js';
import { historyGapEvent, type HistoryReplay, type ListenerHistory } from './sse-history.js';

/** Where a `ListenerPump` delivers: an HTTP response, an Observable subscriber... */
export interface SseSink {
  /**
   * Takes one event of the current batch, with the id the stream gives it: the listener's event id, or
   * `''` (an empty `id:` line, which clears the client's last id); undefined without a history (no `id:`
   * line).
   */
  write(event: EncodedSseEvent, id: SseEventId | undefined): void;
  /** Ends a batch. Returns false when the consumer is full: the pump then waits for `resume()`. */
  flush(): boolean;
  /** The listener stopped: the stream is over. */
  end(): void;
  /** The listener's `onMessage` or its queue failed: the stream is over. */
  fail(error: unknown): void;
}

/** The id a stream gives an event: the listener's event id (an integer >= 0), or `''` for an empty `id:` line. */
export type SseEventId = number | '';

/** Batches a pump may have a history kept elsewhere number at once before it stops taking more. */
export const MAX_BATCHES_BEING_NUMBERED = 4;

/** A batch given to a history kept elsewhere, written once it and those before it are numbered. */
interface NumberedBatch {
  events: EncodedSseEvent[];
  /** The id of the first event, once numbered; undefined when numbering failed. */
  first: number | undefined;
  done: boolean;
}

/** How much a pump takes from a queue in one turn of the event loop before letting others run. */
export const DEFAULT_MAX_BATCH_BYTES = 64 * 1024;

/** What makes a `ListenerPump`. */
export interface ListenerPumpOptions {
  channel: AbstractChannel;
  connection: Connection;
  sink: SseSink;
  /** The encodings shared by the streams of the caller. */
  frames: SseFrameCache;
  /** How much it takes from the queue in one turn of the event loop. Default `DEFAULT_MAX_BATCH_BYTES`. */
  maxBatchBytes?: number;
  /** Numbers events and keeps them for replay; without it events have no id. */
  history?: ListenerHistory;
}

const IDLE = 0;
const STREAMING = 1;
const DONE = 2;

/**
 * Moves a listener's messages from its queue to a sink, encoded once per message (see `SseFrameCache`).
 *
 * Event driven: it wakes when the queue gets a message or the listener stops, never polls. Messages
 * already queued go out as one batch. While the sink is full it takes nothing from the queue, so
 * messages for a slow consumer wait in the listener's queue, not in memory of the pump or the sink.
 * When the listener stops, the sink is ended; when the consumer goes away, `close()` detaches the pump.
 * Like `AbstractChannel.messageStream`, it calls `listener.onMessage` for each message and honours the
 * channel's `streamDelaySeconds`.
 *
 * With a `ListenerHistory`, every event gets the listener's next id and is kept for replay before it is
 * written, and `start(lastEventId)` first sends what the history holds after that id (see `SseHistory`).
 * A history kept elsewhere (Redis) numbers each batch in one round trip; the pump goes on taking and
 * waiting meanwhile (a queue sees it waiting, as without a history), with at most
 * `MAX_BATCHES_BEING_NUMBERED` batches in flight, and writes each batch once it and those before it
 * are numbered. Events numbered but not written because the client left meanwhile are in the history,
 * for its next stream.
 */
export class ListenerPump {
  private state = IDLE;
  private scheduled = false;
  private paused = false;
  /** An async pop or `onMessage` is in flight; it runs the pump again when it settles. */
  private busy = false;
  /** A batch is being taken from the queue; a stop during it ends the stream once the batch is out. */
  private inBatch = false;
  private delayTimer: NodeJS.Timeout | undefined;
  private cancelReady: (() => void) | undefined;
  private cancelStop: (() => void) | undefined;
  private readonly delayMs: number;
  /** The id of the last event written, or the one resumed after: what the client would resume after now. */
  private position: SseEventId = '';
  /** The id this stream resumed after (its resume point); undefined until it is known. */
  private startedAfter: number | undefined;
  /** Batches being numbered by a history kept elsewhere, oldest first. */
  private numbering: NumberedBatch[] = [];
  /** The pump stopped taking because `MAX_BATCHES_BEING_NUMBERED` were in flight: the next one written runs it. */
  private waitingForNumbering = false;
  private readonly wake = (): void => this.schedule();
  // Ends the stream as soon as the listener stops, so a server-side stop (shutdown, removeListener)
  // ends the response at once; a batch or an async step in flight ends it when it is done.
  private readonly stopped = (): void => {
    if (this.state === STREAMING && !this.inBatch && !this.busy && this.numbering.length === 0) this.finish();
  };
  private readonly endDelay = (): void => {
    this.delayTimer = undefined;
    this.run();
  };

  private readonly channel: AbstractChannel;
  readonly connection: Connection;
  private readonly sink: SseSink;
  private readonly frames: SseFrameCache;
  private readonly maxBatchBytes: number;
  private readonly history: ListenerHistory | undefined;

  constructor(options: ListenerPumpOptions) {
    this.channel = options.channel;
    this.connection = options.connection;
    this.sink = options.sink;
    this.frames = options.frames;
    this.maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    this.history = options.history;
    this.delayMs = this.channel.streamDelaySeconds * 1000;
  }

  /**
   * Starts the listener and delivers its messages, those queued while nobody streamed it first.
   *
   * With a history, the stream first gives the client a resume point: what the history holds after
   * `lastEventId` (preceded by the `MESSAGE_TYPE_HISTORY_GAP` event when some of it is gone), or, when
   * there is nothing to replay (no id, an id the history does not know, or nothing since), an event with
   * only an `id:` line, the listener's last id. That event sets the client's last event id without
   * dispatching anything (an `EventSource` ignores an event without data), so a client whose connection
   * drops before its first message still resumes from there and misses nothing.
   */
  start(lastEventId?: number): void {
    if (this.state !== IDLE) return;
    this.state = STREAMING;
    const { listener } = this.connection;
    listener.start();
    this.cancelStop = listener.onStop(this.stopped);
    const history = this.history;
    if (history !== undefined) {
      let opening: HistoryReplay | Promise<HistoryReplay>;
      try {
        opening = history.open(lastEventId);
      } catch (error) {
        return this.failWith(error);
      }
      if (opening instanceof Promise) {
        this.busy = true;
        opening.then(
          (replay) => {
            this.busy = false;
            if (this.state === STREAMING && this.sendReplay(lastEventId, replay)) this.run();
          },
          (error: unknown) => {
            this.busy = false;
            this.failWith(error);
          },
        );
        return;
      }
      if (!this.sendReplay(lastEventId, opening)) return;
    }
    this.schedule();
  }

  /** Writes the resume point as the first batch; false when the stream failed. */
  private sendReplay(lastEventId: number | undefined, replay: HistoryReplay): boolean {
    const { events, firstId, gap } = replay;
    this.position = this.startedAfter = firstId - 1;
    try {
      if (gap) this.sink.write(historyGapEvent(lastEventId ?? 0, firstId), this.position);
      for (let i = 0; i < events.length; i++) this.sink.write(events[i], (this.position = firstId + i));
      if (!gap && events.length === 0) this.sink.write(ID_ONLY_SSE_EVENT, this.position);
      if (!this.sink.flush()) this.paused = true;
    } catch (error) {
      this.failWith(error);
      return false;
    }
    return true;
  }

  /**
   * The client did not read what this stream sent it (its connection failed): the listener's next
   * stream without a known id resumes where this one started (see `ListenerHistory.markUnconfirmed`).
   */
  markUnconfirmed(): void {
    const { history, startedAfter } = this;
    if (history === undefined || startedAfter === undefined) return;
    const failed = (error: unknown): void =>
      getEricLogger().error(`Marking a stream of listener ${this.connection.listener.id} unconfirmed failed`, error);
    try {
      const marked = history.markUnconfirmed(startedAfter);
      if (marked instanceof Promise) marked.catch(failed);
    } catch (error) {
      failed(error);
    }
  }

  /** The sink has room again. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.schedule();
  }

  /**
   * The consumer went away: stop delivering. The listener is left as it is (the caller stops or
   * removes it). Returns false when the stream had already ended.
   */
  close(): boolean {
    if (this.state === DONE) return false;
    this.release();
    return true;
  }

  get isStreaming(): boolean {
    return this.state === STREAMING;
  }

  private release(): void {
    this.state = DONE;
    this.cancelReady?.();
    this.cancelStop?.();
    if (this.delayTimer !== undefined) clearTimeout(this.delayTimer);
    this.cancelReady = this.cancelStop = this.delayTimer = undefined;
  }

  // Ending runs inside listener.stop() (shutdown, removeListener): a sink that throws must not break it.
  private finish(): void {
    this.release();
    try {
      this.sink.end();
    } catch (error) {
      getEricLogger().error('Ending an SSE stream failed', error);
    }
  }

  private failWith(error: unknown): void {
    if (this.state === DONE) return;
    this.release();
    try {
      this.sink.fail(error);
    } catch (failure) {
      getEricLogger().error('Ending an SSE stream failed', failure);
    }
  }

  private schedule(): void {
    if (this.scheduled || this.state !== STREAMING) return;
    this.scheduled = true;
    scheduleRun(this);
  }

  /** @internal Called by the scheduler. */
  runScheduled(): void {
    this.scheduled = false;
    this.run();
  }

  private run(): void {
    if (this.state !== STREAMING || this.busy) return;
    const { listener, queue } = this.connection;
    const numbering = this.numbering.length;
    // Stopped: the batches being numbered go out first; the last one to be written runs this again.
    if (!listener.isRunning()) return numbering === 0 ? this.finish() : undefined;
    if (this.paused || this.delayTimer !== undefined) return;
    if (numbering >= MAX_BATCHES_BEING_NUMBERED) {
      this.waitingForNumbering = true;
      return;
    }
    this.cancelReady = undefined;
    if (queue.popNow === undefined || this.delayMs > 0) {
      void this.deliverOne();
      return;
    }
    let bytes = 0;
    let count = 0;
    let msg: MessageContract | undefined;
    const history = this.history;
    // A history that numbers events elsewhere does it per batch: they are written once it answers.
    const numberedLater: EncodedSseEvent[] | undefined =
      history !== undefined && history.recordNow === undefined ? [] : undefined;
    this.inBatch = true;
    try {
      // The state is checked per message: a consumer may unsubscribe from inside `write`.
      while (
        bytes < this.maxBatchBytes &&
        this.state === STREAMING &&
        listener.isRunning() &&
        (msg = queue.popNow()) !== undefined
      ) {
        const handled = listener.onMessage(msg);
        if (handled !== undefined) {
          // An async onMessage: what is batched goes first, this message once it is handled.
          this.inBatch = false;
          if (numberedLater !== undefined && numberedLater.length > 0) this.numberElsewhere(numberedLater);
          else if (count > 0 && !this.sink.flush()) this.paused = true;
          void this.deliverHandled(msg, handled);
          return;
        }
        const encoded = this.frames.tryEncode(this.channel, msg);
        if (encoded === undefined) continue;
        if (numberedLater !== undefined) numberedLater.push(encoded);
        else this.sink.write(encoded, history === undefined ? undefined : this.numberNow(history, encoded));
        bytes += encoded.frame.length;
        count++;
      }
      this.inBatch = false;
      if (this.state !== STREAMING) return;
      if (numberedLater !== undefined && numberedLater.length > 0) this.numberElsewhere(numberedLater);
      else if (count > 0 && !this.sink.flush()) this.paused = true;
    } catch (error) {
      this.inBatch = false;
      return this.failWith(error);
    }
    if (!listener.isRunning()) {
      if (this.numbering.length === 0) this.finish();
    } else if (this.numbering.length >= MAX_BATCHES_BEING_NUMBERED) {
      this.waitingForNumbering = true;
    } else if (this.paused) {
      // Full: nothing more leaves the queue until the sink drains.
    } else if (msg !== undefined) {
      this.schedule(); // the batch is full and more may wait: let other work run first
    } else {
      this.cancelReady = queue.onReady(this.wake);
    }
  }

  /** The general path: queues without `popNow`, and rate-limited channels. One message per step. */
  private async deliverOne(): Promise<void> {
    const { listener, queue } = this.connection;
    let msg: MessageContract | undefined;
    this.busy = true;
    try {
      if (queue.popNow !== undefined) {
        msg = queue.popNow();
      } else {
        msg = await popOrUndefined(queue.pop());
        if (msg !== undefined && (this.state !== STREAMING || !listener.isRunning())) {
          // Stopped or closed while the pop was in flight: give the message back rather than lose it.
          await queue.push(msg);
          msg = undefined;
        }
      }
    } catch (error) {
      this.busy = false;
      return this.failWith(error);
    }
    this.busy = false;
    if (this.state !== STREAMING) return;
    if (msg === undefined) {
      if (!listener.isRunning()) return this.finish();
      this.cancelReady = queue.onReady(this.wake);
      return;
    }
    let handled: void | Promise<void>;
    try {
      handled = listener.onMessage(msg);
    } catch (error) {
      return this.failWith(error);
    }
    await this.deliverHandled(msg, handled);
  }

  private async deliverHandled(msg: MessageContract, handled: void | Promise<void>): Promise<void> {
    if (handled !== undefined) {
      this.busy = true;
      try {
        await handled;
      } catch (error) {
        this.busy = false;
        if (this.state === STREAMING) this.failWith(error);
        return;
      }
      this.busy = false;
    }
    if (this.state !== STREAMING) return;
    const encoded = this.frames.tryEncode(this.channel, msg);
    const { history } = this;
    if (encoded !== undefined && history !== undefined && history.recordNow === undefined) {
      this.numberElsewhere([encoded]);
    } else {
      try {
        if (encoded !== undefined) {
          this.sink.write(encoded, history === undefined ? undefined : this.numberNow(history, encoded));
          if (!this.sink.flush()) this.paused = true;
        }
      } catch (error) {
        return this.failWith(error);
      }
    }
    if (this.delayMs > 0 && this.connection.listener.isRunning()) {
      this.delayTimer = setTimeout(this.endDelay, this.delayMs);
      return;
    }
    this.run();
  }

  private numberNow(history: ListenerHistory, event: EncodedSseEvent): number {
    return (this.position = (history.recordNow as (event: EncodedSseEvent) => number).call(history, event));
  }

  /**
   * Has the history number `events` (taken from the queue); they are written once they and the batches
   * before them are numbered (see `writeNumbered`).
   */
  private numberElsewhere(events: EncodedSseEvent[]): void {
    const batch: NumberedBatch = { events, first: undefined, done: false };
    this.numbering.push(batch);
    const settle = (): void => {
      batch.done = true;
      this.writeNumbered();
    };
    let numbered: number | Promise<number>;
    try {
      numbered = (this.history as ListenerHistory).record(events);
    } catch (error) {
      this.numberingFailed(events, error);
      return settle();
    }
    Promise.resolve(numbered).then(
      (first) => {
        batch.first = first;
        settle();
      },
      (error: unknown) => {
        this.numberingFailed(events, error);
        settle();
      },
    );
  }

  /**
   * Writes the numbered batches at the head of the line, as one write, then lets the pump go on (or end,
   * once the listener stopped and nothing is left to number). A batch the history could not number goes
   * with the current position as its events' id, so that a client resuming later neither skips nor
   * repeats anything the history holds.
   */
  private writeNumbered(): void {
    if (this.state !== STREAMING) {
      this.numbering = [];
      return;
    }
    const { numbering } = this;
    let written = 0;
    try {
      while (written < numbering.length && numbering[written].done) {
        const { events, first } = numbering[written++];
        for (let i = 0; i < events.length; i++) {
          this.sink.write(events[i], first === undefined ? this.position : (this.position = first + i));
        }
      }
      if (written === 0) return;
      numbering.splice(0, written);
      if (!this.sink.flush()) this.paused = true;
    } catch (error) {
      return this.failWith(error);
    }
    if (!this.connection.listener.isRunning()) {
      if (numbering.length === 0 && !this.busy && !this.inBatch) this.finish();
    } else if (this.waitingForNumbering) {
      this.waitingForNumbering = false;
      this.schedule();
    }
  }

  private numberingFailed(events: EncodedSseEvent[], error: unknown): void {
    getEricLogger().error(
      `Numbering ${events.length} SSE event(s) of listener ${this.connection.listener.id} failed; sent without new ids`,
      error,
    );
  }
}

async function popOrUndefined(popped: Promise<MessageContract>): Promise<MessageContract | undefined> {
  try {
    return await popped;
  } catch (error) {
    if (error instanceof NoMessagesException) return undefined;
    throw error;
  }
}

// One shared macrotask runs every pump woken since the last one: a burst of broadcasts reaches each
// client as one write, and waking a thousand pumps costs one setImmediate, not a thousand.
let due: ListenerPump[] = [];
let spare: ListenerPump[] = [];
let runScheduled = false;

function scheduleRun(pump: ListenerPump): void {
  due.push(pump);
  if (runScheduled) return;
  runScheduled = true;
  setImmediate(runDue);
}

function runDue(): void {
  runScheduled = false;
  const pumps = due;
  due = spare;
  spare = pumps;
  for (let i = 0; i < pumps.length; i++) {
    try {
      pumps[i].runScheduled();
    } catch (error) {
      // A queue failing outside the steps that fail a stream: the other pumps of the turn still run.
      getEricLogger().error('An SSE stream step failed', error);
    }
  }
  pumps.length = 0;
}
