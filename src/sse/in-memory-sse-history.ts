import type { AbstractChannel } from '../core/channel.js';
import type { Connection } from '../core/connection.js';
import type { EncodedSseEvent } from './encoded-sse-event.js';
import {
  resolveSseHistoryOptions,
  type HistoryReplay,
  type ListenerHistory,
  type ResolvedSseHistoryOptions,
  type SseHistory,
  type SseHistoryOptions,
} from './sse-history.js';

/** Longest pause between two sweeps of events past their age. */
const MAX_SWEEP_INTERVAL_MS = 60_000;

let turnNow: number | undefined;
const forgetNow = (): void => {
  turnNow = undefined;
};

/** `Date.now()` read once per run of synchronous code: a broadcast streamed to many listeners reads the clock once. */
function now(): number {
  if (turnNow === undefined) {
    turnNow = Date.now();
    queueMicrotask(forgetNow);
  }
  return turnNow;
}

/**
 * Event ids and replay histories kept in this process, per connection (so a removed listener's history
 * goes with it). Holds the encoded events themselves, shared by every listener a broadcast reached: a
 * kept event costs a slot and a timestamp per listener. Events past their age are dropped on the next
 * delivery or replay of their listener, and by a sweep (one timer, only while something is kept).
 */
export class InMemorySseHistory implements SseHistory {
  readonly options: ResolvedSseHistoryOptions;
  private readonly histories = new WeakMap<Connection, InMemoryListenerHistory>();
  /**
   * Histories holding events, for the sweep; weakly, so that the history of a listener removed meanwhile
   * goes with its connection rather than when its events grow old.
   */
  private readonly holding = new Set<WeakRef<InMemoryListenerHistory>>();
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(options: SseHistoryOptions = {}) {
    this.options = resolveSseHistoryOptions(options);
  }

  forListener(_channel: AbstractChannel, connection: Connection): InMemoryListenerHistory {
    let history = this.histories.get(connection);
    if (history === undefined) {
      history = new InMemoryListenerHistory(this.options, this);
      this.histories.set(connection, history);
    }
    return history;
  }

  /** @internal A history started holding events. */
  holds(history: InMemoryListenerHistory): void {
    this.holding.add(history.weakRef);
    if (this.sweepTimer !== undefined) return;
    const interval = Math.min(this.options.maxAgeMilliseconds, MAX_SWEEP_INTERVAL_MS);
    this.sweepTimer = setInterval(() => this.sweep(), interval);
    this.sweepTimer.unref();
  }

  private sweep(): void {
    const now = Date.now();
    for (const ref of this.holding) {
      const history = ref.deref();
      if (history === undefined || history.prune(now) === 0) this.holding.delete(ref);
    }
    if (this.holding.size === 0) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
    }
  }
}

/** One listener's ids and the events it was sent, oldest first (`events[head]` has id `lastId() - size + 1`). */
export class InMemoryListenerHistory implements ListenerHistory {
  /** The id of the last event delivered; 0 before the first. */
  private last = 0;
  /** Where the earliest stream marked unconfirmed since the last `open` without a known id started. */
  private unconfirmedStart: number | undefined;
  /** @internal How the owner's sweep refers to it. */
  readonly weakRef = new WeakRef(this);
  private events: EncodedSseEvent[] = [];
  private times: number[] = [];
  private head = 0;

  constructor(
    private readonly options: ResolvedSseHistoryOptions,
    private readonly owner: InMemorySseHistory,
  ) {}

  /** How many events are held. */
  get size(): number {
    return this.events.length - this.head;
  }

  recordNow(event: EncodedSseEvent): number {
    const id = ++this.last;
    const { maxEvents } = this.options;
    if (maxEvents === 0) return id;
    if (this.size === 0) this.owner.holds(this);
    this.events.push(event);
    this.times.push(now());
    if (this.size > maxEvents) this.dropOldest(1);
    return id;
  }

  /** The id of the last event delivered; 0 before the first. */
  lastId(): number {
    return this.last;
  }

  open(lastEventId: number | undefined): HistoryReplay {
    let after = lastEventId;
    if (after === undefined || after > this.last) {
      after = Math.min(this.unconfirmedStart ?? this.last, this.last);
      this.unconfirmedStart = undefined;
    }
    return this.replay(after) as HistoryReplay;
  }

  markUnconfirmed(start: number): void {
    this.unconfirmedStart = Math.min(this.unconfirmedStart ?? start, start);
  }

  record(events: readonly EncodedSseEvent[]): number {
    const first = this.last + 1;
    for (const event of events) this.recordNow(event);
    return first;
  }

  replay(lastEventId: number): HistoryReplay | undefined {
    if (lastEventId > this.last) return undefined;
    this.prune(Date.now());
    const held = this.size;
    const firstHeld = this.last - held + 1;
    const firstId = Math.max(firstHeld, lastEventId + 1);
    const from = this.head + (firstId - firstHeld);
    return { events: this.events.slice(from), firstId, gap: firstId > lastEventId + 1 };
  }

  /** Drops the events past their age; returns how many are left. */
  prune(now: number): number {
    const oldest = now - this.options.maxAgeMilliseconds;
    let old = 0;
    while (this.head + old < this.times.length && this.times[this.head + old] < oldest) old++;
    if (old > 0) this.dropOldest(old);
    return this.size;
  }

  private dropOldest(count: number): void {
    this.head += count;
    if (this.head === this.events.length) {
      this.events = [];
      this.times = [];
      this.head = 0;
    } else if (this.head >= 32 && this.head >= this.size) {
      // Compact once as many slots are dropped as held: O(1) per event on average, and the arrays stay
      // within twice what is held (plus 32).
      this.events = this.events.slice(this.head);
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }
}
