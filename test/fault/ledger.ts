/**
 * The fault suite's checker: which messages were acknowledged for which listeners, what each listener's
 * client received, and from that the counts every run prints (acknowledged, delivered, lost, duplicated)
 * and a diagnosis of each loss from the event ids the client saw.
 *
 * Messages carry `{ seq }` in their payload; the publisher sends one at a time, so a listener must receive
 * the acknowledged messages meant for it (every broadcast, the dispatches to it) exactly once each, in
 * increasing `seq`. A message whose call never answered 2xx may or may not arrive, but at most once and in
 * order too.
 */
import { MESSAGE_TYPE_HISTORY_GAP } from '../../src/index.js';
import type { FaultEventSource, ReceivedEvent } from './event-source.js';

/** The SSE event type of the suite's messages. */
export const FAULT_EVENT = 'fault';

export interface Delivery {
  seq: number;
  /** The client's last event id as the event was dispatched (the event's id). */
  id: string;
  connection: number;
  /** Position in the listener's arrival order. */
  index: number;
  /** When it arrived, in ms since the ledger was made. */
  at: number;
}

/** Where a message went: a broadcast on a channel, or a dispatch to one listener of it. */
export interface MessageTarget {
  channelId: string;
  listenerId?: string;
}

interface ListenerLog {
  readonly id: string;
  readonly channelId: string;
  readonly label: string;
  readonly source: FaultEventSource | undefined;
  readonly first: Map<number, Delivery>;
  received: number;
  maxSeq: number;
  duplicates: number;
  outOfOrder: number;
  misrouted: number;
  /** Distinct acknowledged messages meant for it that it received: all of them, and those of the phase. */
  have: number;
  phaseHave: number;
  /** Acknowledged dispatches to it: all of them, and those of the phase. */
  dispatched: number;
  phaseDispatched: number;
}

export interface LedgerCounts {
  acknowledged: number;
  /** (listener, message) pairs acknowledged. */
  expected: number;
  /** Of those, the pairs received (once or more). */
  delivered: number;
  lost: number;
  /** Receptions beyond the first of a message by a listener. */
  duplicated: number;
  /** First receptions of a message after one with a higher seq. */
  outOfOrder: number;
  /** Dispatches received by a listener they were not sent to. */
  misrouted: number;
  /** Messages never acknowledged that arrived anyway (allowed). */
  unacknowledgedDelivered: number;
  /** `MESSAGE_TYPE_HISTORY_GAP` events received. */
  historyGaps: number;
  /** Events of another type. */
  otherEvents: number;
}

export class DeliveryLedger {
  /** Date.now() when it was made: times in the diagnosis count from it. */
  readonly origin = Date.now();
  /** seq → where the message went. */
  private readonly targets = new Map<number, MessageTarget>();
  private readonly acked = new Set<number>();
  private readonly listeners = new Map<string, ListenerLog>();
  /** Acknowledged broadcasts per channel: all of them, and those of the phase. */
  private readonly broadcasts = new Map<string, { all: number; phase: number }>();
  private phaseStart = 0;
  private nextSeq = 0;
  private historyGaps = 0;
  private otherEvents = 0;
  /** Duplicates by kind: the same event id again (resent), or another id (the message was queued twice). */
  readonly duplicateKinds = new Map<string, number>();
  /** The first duplicates, explained. */
  readonly duplicateExamples: string[] = [];
  /** The first out-of-order receptions, explained. */
  readonly outOfOrderExamples: string[] = [];
  /** seq → receptions beyond the first, over all listeners. */
  readonly duplicateSeqs = new Map<number, number>();
  private waiters: { phase: boolean; only: ReadonlySet<string> | undefined; resolve: () => void }[] = [];

  /** A listener of `channelId` whose client's events `receive` gets. */
  addListener(id: string, channelId: string, label: string, source?: FaultEventSource): void {
    this.broadcasts.set(channelId, this.broadcasts.get(channelId) ?? { all: 0, phase: 0 });
    this.listeners.set(id, {
      id,
      channelId,
      label,
      source,
      first: new Map(),
      received: 0,
      maxSeq: -1,
      duplicates: 0,
      outOfOrder: 0,
      misrouted: 0,
      have: 0,
      phaseHave: 0,
      dispatched: 0,
      phaseDispatched: 0,
    });
  }

  listenerIds(): string[] {
    return [...this.listeners.keys()];
  }

  /** Whether listener `listenerId` has received message `seq`. */
  has(listenerId: string, seq: number): boolean {
    return this.listeners.get(listenerId)?.first.has(seq) ?? false;
  }

  /** The label a listener was added with. */
  labelOf(listenerId: string): string {
    return this.listeners.get(listenerId)?.label ?? listenerId;
  }

  /** How many messages were made so far: the seq the next one gets. */
  get sent(): number {
    return this.nextSeq;
  }

  /** The seq of a new message, before it is sent. */
  newMessage(target: MessageTarget): number {
    const seq = this.nextSeq++;
    this.targets.set(seq, target);
    return seq;
  }

  /** Its call answered 2xx. */
  ack(seq: number): void {
    if (this.acked.has(seq)) return;
    this.acked.add(seq);
    const target = this.targets.get(seq);
    if (target === undefined) throw new Error(`unknown message ${seq}`);
    const inPhase = seq >= this.phaseStart;
    if (target.listenerId === undefined) {
      const counts = this.broadcasts.get(target.channelId) ?? { all: 0, phase: 0 };
      this.broadcasts.set(target.channelId, counts);
      counts.all++;
      if (inPhase) counts.phase++;
      for (const log of this.listeners.values()) {
        if (log.channelId === target.channelId && log.first.has(seq)) this.countHave(log, inPhase);
      }
    } else {
      const log = this.listeners.get(target.listenerId);
      if (log !== undefined) {
        log.dispatched++;
        if (inPhase) log.phaseDispatched++;
        if (log.first.has(seq)) this.countHave(log, inPhase);
      }
    }
    this.wake();
  }

  /** Messages from now on make a phase of their own: `whenComplete(true)` waits for those only. */
  beginPhase(): void {
    this.phaseStart = this.nextSeq;
    for (const counts of this.broadcasts.values()) counts.phase = 0;
    for (const log of this.listeners.values()) log.phaseHave = log.phaseDispatched = 0;
  }

  /** An event listener `listenerId`'s client dispatched. */
  receive(listenerId: string, event: ReceivedEvent): void {
    if (event.type === MESSAGE_TYPE_HISTORY_GAP) {
      this.historyGaps++;
      return;
    }
    if (event.type !== FAULT_EVENT) {
      this.otherEvents++;
      return;
    }
    const log = this.listeners.get(listenerId);
    if (log === undefined) throw new Error(`unknown listener ${listenerId}`);
    const seq = (JSON.parse(event.data) as { seq: number }).seq;
    const index = log.received++;
    const earlier = log.first.get(seq);
    if (earlier !== undefined) {
      log.duplicates++;
      this.duplicateSeqs.set(seq, (this.duplicateSeqs.get(seq) ?? 0) + 1);
      this.noteDuplicate(log, earlier, event);
      return;
    }
    log.first.set(seq, {
      seq,
      id: event.lastEventId,
      connection: event.connection,
      index,
      at: Date.now() - this.origin,
    });
    if (seq < log.maxSeq) {
      log.outOfOrder++;
      this.noteOutOfOrder(log, seq);
    } else {
      log.maxSeq = seq;
    }
    const meant = this.meantFor(log, seq);
    if (!meant) log.misrouted++;
    if (this.acked.has(seq) && meant) {
      this.countHave(log, seq >= this.phaseStart);
      this.wake();
    }
  }

  /**
   * Whether every listener (of `only`, when given) has every acknowledged message meant for it (of the
   * phase, with `phase`).
   */
  complete(phase = false, only?: ReadonlySet<string>): boolean {
    for (const log of this.listeners.values()) {
      if (only !== undefined && !only.has(log.id)) continue;
      const broadcasts = this.broadcasts.get(log.channelId) ?? { all: 0, phase: 0 };
      if (phase) {
        if (log.phaseHave < broadcasts.phase + log.phaseDispatched) return false;
      } else if (log.have < broadcasts.all + log.dispatched) {
        return false;
      }
    }
    return true;
  }

  /** Resolves true once `complete(phase, only)`, false after `timeoutMs`. */
  whenComplete(timeoutMs: number, phase = false, only?: ReadonlySet<string>): Promise<boolean> {
    if (this.complete(phase, only)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = {
        phase,
        only,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Receptions so far (all listeners): a settle period waits for this to stop moving. */
  get receptions(): number {
    let total = 0;
    for (const log of this.listeners.values()) total += log.received;
    return total;
  }

  counts(): LedgerCounts {
    let expected = 0;
    let delivered = 0;
    let duplicated = 0;
    let outOfOrder = 0;
    let misrouted = 0;
    let unacknowledgedDelivered = 0;
    for (const log of this.listeners.values()) {
      expected += (this.broadcasts.get(log.channelId)?.all ?? 0) + log.dispatched;
      delivered += log.have;
      duplicated += log.duplicates;
      outOfOrder += log.outOfOrder;
      misrouted += log.misrouted;
      for (const seq of log.first.keys()) if (!this.acked.has(seq)) unacknowledgedDelivered++;
    }
    return {
      acknowledged: this.acked.size,
      expected,
      delivered,
      lost: expected - delivered,
      duplicated,
      outOfOrder,
      misrouted,
      unacknowledgedDelivered,
      historyGaps: this.historyGaps,
      otherEvents: this.otherEvents,
    };
  }

  /** The acknowledged messages not received (yet), per listener (of `only`, when given), in seq order. */
  lost(only?: ReadonlySet<string>): Map<string, number[]> {
    const lost = new Map<string, number[]>();
    const seqs = [...this.acked].sort((a, b) => a - b);
    for (const log of this.listeners.values()) {
      if (only !== undefined && !only.has(log.id)) continue;
      const missing = seqs.filter((seq) => this.meantFor(log, seq) && !log.first.has(seq));
      if (missing.length > 0) lost.set(log.id, missing);
    }
    return lost;
  }

  /**
   * Each run of consecutive lost messages of a listener, explained from what its client saw: the events
   * received just before and after (their ids), and whether the ids skipped some (events numbered for
   * the listener but never seen: written to a connection that was dropped, and not replayed) or not
   * (messages that never reached a stream); and the connection the next event came on, with the
   * `Last-Event-ID` it sent. Returns the category counts (per lost message) and the runs.
   */
  diagnose(): { categories: Map<string, number>; runs: LossRun[] } {
    const categories = new Map<string, number>();
    const runs: LossRun[] = [];
    for (const [listenerId, missing] of this.lost()) {
      const log = this.listeners.get(listenerId) as ListenerLog;
      const received = [...log.first.values()].sort((a, b) => a.seq - b.seq);
      let run: LossRun | undefined;
      for (const seq of missing) {
        const at = lowerBound(received, seq);
        const before = at > 0 ? received[at - 1] : undefined;
        const after = at < received.length ? received[at] : undefined;
        if (run !== undefined && run.before === before && run.after === after) {
          run.seqs.push(seq);
          continue;
        }
        run = this.explain(log, seq, before, after);
        runs.push(run);
      }
    }
    for (const run of runs) categories.set(run.category, (categories.get(run.category) ?? 0) + run.seqs.length);
    return { categories, runs };
  }

  private explain(log: ListenerLog, seq: number, before?: Delivery, after?: Delivery): LossRun {
    const run: LossRun = { listener: log.label, seqs: [seq], before, after, category: '', detail: '' };
    const beforeId = before === undefined ? 0 : Number(before.id);
    if (after === undefined) {
      run.category = 'never delivered, nothing after it either';
      run.detail = `after id ${before?.id ?? '-'} (seq ${before?.seq ?? '-'}) nothing more arrived`;
      return run;
    }
    const afterId = Number(after.id);
    const connection = log.source?.connections[after.connection];
    const firstOnConnection =
      connection !== undefined && (before === undefined || before.connection !== after.connection);
    const resumed = connection?.sentLastEventId;
    const skipped = afterId - beforeId - 1;
    const where = firstOnConnection
      ? `; the next event was the first of connection #${after.connection} (${connection.url.replace(/\/eric-sse.*/, '')}, Last-Event-ID ${resumed ?? 'none'})`
      : `; the next event came on the same connection #${after.connection}`;
    const when = `${before === undefined ? '' : `${seconds(before.at)} → `}${seconds(after.at)}`;
    const earlier = (log.source?.connections ?? [])
      .slice(0, after.connection)
      .map(
        (c) =>
          `#${c.index} drop ${c.drop ?? '-'} end ${c.end ?? '-'} status ${c.status ?? '-'} events ${c.events} sent ${c.sentLastEventId ?? 'none'}`,
      )
      .slice(-3)
      .join('; ');
    run.detail = `between id ${before?.id ?? 'none'} (seq ${before?.seq ?? '-'}) and id ${after.id} (seq ${after.seq}), received ${when}${where}${earlier === '' ? '' : ` [before it: ${earlier}]`}`;
    if (Number.isNaN(afterId) || Number.isNaN(beforeId)) {
      run.category = 'events without a numeric id around the loss';
    } else if (skipped <= 0) {
      run.category = 'never streamed: no event id skipped (lost before reaching any stream)';
    } else if (!firstOnConnection) {
      run.category = 'ids skipped within one connection';
    } else if (resumed === undefined) {
      run.category = 'ids skipped on a reconnection without Last-Event-ID (dropped before any event was seen)';
    } else if (Number(resumed) === beforeId) {
      run.category = 'ids skipped on a reconnection with the right Last-Event-ID (replay incomplete)';
    } else {
      run.category = 'ids skipped on a reconnection with another Last-Event-ID';
    }
    return run;
  }

  /** Whether message `seq` was meant for the listener (a broadcast on its channel, or a dispatch to it). */
  private meantFor(log: ListenerLog, seq: number): boolean {
    const target = this.targets.get(seq);
    if (target === undefined || target.channelId !== log.channelId) return false;
    return target.listenerId === undefined || target.listenerId === log.id;
  }

  private describeConnection(log: ListenerLog, index: number): string {
    const record = log.source?.connections[index];
    const url = record?.url.replace(/\/eric-sse.*/, '') ?? '?';
    return `connection #${index} (${url}, Last-Event-ID ${record?.sentLastEventId ?? 'none'})`;
  }

  private noteDuplicate(log: ListenerLog, earlier: Delivery, event: ReceivedEvent): void {
    const kind =
      earlier.id === event.lastEventId
        ? 'the same event id again (resent or replayed twice)'
        : 'another event id (the message was queued twice)';
    this.duplicateKinds.set(kind, (this.duplicateKinds.get(kind) ?? 0) + 1);
    if (this.duplicateExamples.length >= 12) return;
    this.duplicateExamples.push(
      `${log.label} seq ${earlier.seq}: id ${earlier.id} on ${this.describeConnection(log, earlier.connection)}, ` +
        `again as id ${event.lastEventId} on ${this.describeConnection(log, event.connection)}`,
    );
  }

  /** Keeps the first out-of-order receptions, with the one of a higher seq before them. */
  private noteOutOfOrder(log: ListenerLog, seq: number): void {
    if (this.outOfOrderExamples.length >= 12) return;
    const current = log.first.get(seq) as Delivery;
    const higher = log.first.get(log.maxSeq) as Delivery;
    const connection = (delivery: Delivery): string => this.describeConnection(log, delivery.connection);
    this.outOfOrderExamples.push(
      `${log.label} seq ${seq} (id ${current.id}, ${connection(current)}) after seq ${higher.seq} (id ${higher.id}, ${connection(higher)})`,
    );
  }

  private countHave(log: ListenerLog, inPhase: boolean): void {
    log.have++;
    if (inPhase) log.phaseHave++;
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    this.waiters = this.waiters.filter((waiter) => {
      if (!this.complete(waiter.phase, waiter.only)) return true;
      waiter.resolve();
      return false;
    });
  }
}

export interface LossRun {
  listener: string;
  seqs: number[];
  before: Delivery | undefined;
  after: Delivery | undefined;
  category: string;
  detail: string;
}

function lowerBound(sorted: readonly Delivery[], seq: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid].seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** `+12.3 s`: a time since the ledger's origin. */
export function seconds(ms: number): string {
  return `+${(ms / 1000).toFixed(1)} s`;
}

/** `first-last (count)` for a run of seqs. */
export function seqRange(seqs: readonly number[]): string {
  return seqs.length === 1 ? String(seqs[0]) : `${seqs[0]}-${seqs[seqs.length - 1]} (${seqs.length})`;
}
