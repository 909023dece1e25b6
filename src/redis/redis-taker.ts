import { getEricLogger } from '../core/logger.js';
import type { RedisBackend } from './redis-backend.js';
import { isReplyError, outcomeUnknown } from './redis-errors.js';
import type { RedisQueue } from './redis-queue.js';

/** At most this many messages are taken for one waiting stream at a time. */
export const MAX_TAKEN_PER_QUEUE = 32;
/** Queues taken from in one script; more are split across several. */
const MAX_QUEUES_PER_SCRIPT = 1000;

/**
 * A take made by a dispatch or broadcast script for the streams of this process that wait on its channel
 * (or listener): `ids` goes to the script (see `TAKE` in redis-scripts), `complete` hands out the reply.
 */
export interface Piggyback {
  /** The waiting queues the script takes for, in the order of `ids`. */
  readonly batch: RedisQueue[];
  readonly epochs: number[];
  /** The channel's (or listener's) other local queues: notified once the message is queued. */
  readonly others: RedisQueue[];
  readonly ids: string;
  /** Where the script keeps what it takes until this process has the reply; '' when it takes nothing. */
  readonly ledger: string;
}

/** First and longest pause between two tries of a call whose outcome is unknown. */
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 2_000;

/**
 * Takes messages for the streams that wait in this process: every queue that asks in one tick (say, the
 * thousand local streams one broadcast woke) is served by one script, one round trip; a dispatch or a
 * broadcast made here takes for the local streams in its own script. What a stream does not read by the
 * end of that turn of the event loop goes back to the head of its list.
 *
 * A take leaves the list at once, so a reply that never arrives (Redis killed or frozen with the script
 * run, the connection lost with the reply in flight) would lose what it took. Each take script therefore
 * also keeps what it took under a ledger key of this process, removed once the reply is here; when the
 * outcome is unknown, the queues it took for take nothing more until `ericSseRecoverTake` has given the
 * ledger's messages back to the head of their lists (tried until Redis answers: it runs once).
 */
export class RedisTaker {
  private pending: RedisQueue[] = [];
  private scheduled = false;
  private sequence = 0;
  private readonly retries = new Set<NodeJS.Timeout>();

  constructor(private readonly backend: RedisBackend) {}

  /** @internal A key of this process no other take or give-back uses. */
  nextLedgerKey(): string {
    return this.backend.keys.taking(this.backend.hub.origin, ++this.sequence);
  }

  /**
   * @internal Runs `call` until Redis answers it (success or refusal), backing off between tries, then
   * `settled`. For idempotent calls whose outcome was unknown. Stops when the backend closes.
   */
  retryUntilAnswered(call: () => Promise<unknown>, settled: () => void, delayMs = FIRST_RETRY_MS): void {
    const timer = setTimeout(() => {
      this.retries.delete(timer);
      if (this.backend.client.status === 'end') return;
      call().then(settled, (error: unknown) => {
        if (isReplyError(error)) {
          getEricLogger().error('Recovering a Redis call whose outcome was unknown failed', error);
          return settled();
        }
        this.retryUntilAnswered(call, settled, Math.min(delayMs * 2, MAX_RETRY_MS));
      });
    }, delayMs);
    timer.unref();
    this.retries.add(timer);
  }

  /** @internal Stops every retry (the backend is closing). */
  stopRetries(): void {
    for (const timer of this.retries) clearTimeout(timer);
    this.retries.clear();
  }

  /** Takes for `queue` with the others asking in this tick. */
  request(queue: RedisQueue): void {
    this.pending.push(queue);
    if (this.scheduled) return;
    this.scheduled = true;
    process.nextTick(this.flush);
  }

  /** Prepares the take a dispatch (to `listenerId`) or broadcast script makes for the local waiting streams. */
  piggyback(channelId: string, listenerId?: string): Piggyback {
    const batch: RedisQueue[] = [];
    const epochs: number[] = [];
    const others: RedisQueue[] = [];
    let ids = '';
    for (const target of this.backend.hub.targetsOf(channelId, listenerId)) {
      const queue = target as RedisQueue;
      const epoch = queue.beginTake();
      if (epoch === undefined) {
        others.push(queue);
        continue;
      }
      batch.push(queue);
      epochs.push(epoch);
      ids += idEntry(queue.listenerId);
    }
    return { batch, epochs, others, ids, ledger: batch.length > 0 ? this.nextLedgerKey() : '' };
  }

  /** The script ran: `queued` says whether it queued the message (the other local queues are then notified). */
  complete(piggyback: Piggyback, queued: boolean, index: string, texts: string[]): void {
    if (queued) for (const queue of piggyback.others) queue.notify();
    this.deliver(piggyback.batch, piggyback.epochs, index, texts, piggyback.ledger);
  }

  /**
   * The script failed. Known not to have run: the queues it was to take for wait on (the hub notifies them
   * once Redis is back). Maybe run: what it took is given back first.
   */
  abandon(piggyback: Piggyback, error: unknown): void {
    this.failed(piggyback.batch, piggyback.ledger, error);
  }

  private failed(queues: RedisQueue[], ledger: string, error: unknown): void {
    if (queues.length === 0) return;
    if (!outcomeUnknown(error)) {
      for (const queue of queues) queue.takeFailed();
      return;
    }
    for (const queue of queues) queue.holdTakes();
    const { scripts, keys } = this.backend;
    this.retryUntilAnswered(
      () => scripts.run('ericSseRecoverTake', [ledger], [keys.prefix]),
      () => {
        for (const queue of queues) queue.releaseTakes();
      },
    );
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const all = this.pending;
    this.pending = [];
    for (let start = 0; start < all.length; start += MAX_QUEUES_PER_SCRIPT) {
      this.take(all.slice(start, start + MAX_QUEUES_PER_SCRIPT));
    }
  };

  private take(queues: RedisQueue[]): void {
    // Grouped by channel: the script gets each channel's key prefix once, then its listener ids.
    const byChannel = new Map<string, RedisQueue[]>();
    for (const queue of queues) {
      const group = byChannel.get(queue.channelId);
      if (group === undefined) byChannel.set(queue.channelId, [queue]);
      else group.push(queue);
    }
    const batch: RedisQueue[] = [];
    const args: (string | number)[] = [MAX_TAKEN_PER_QUEUE];
    for (const [channelId, group] of byChannel) {
      let ids = '';
      for (const queue of group) {
        batch.push(queue);
        ids += idEntry(queue.listenerId);
      }
      args.push(this.backend.keys.queuePrefix(channelId), ids);
    }
    const epochs = batch.map((queue) => queue.epochNow);
    const ledger = this.nextLedgerKey();
    this.backend.scripts.run('ericSseTake', [ledger], args).then(
      (reply) => {
        const [index, ...texts] = reply as string[];
        this.deliver(batch, epochs, index, texts, ledger);
      },
      (error: unknown) => {
        // Unreachable: the queues are notified once Redis is back. Refused: a real fault, logged.
        if (isReplyError(error)) getEricLogger().error('Taking messages from Redis failed', error);
        this.failed(batch, ledger, error);
      },
    );
  }

  private deliver(batch: RedisQueue[], epochs: number[], index: string, texts: string[], ledger: string): void {
    if (batch.length === 0) return;
    // The reply is here: the ledger of what the script took is no longer needed.
    if (texts.length > 0) this.backend.client.unlink(ledger).catch(() => undefined);
    const entries = index === '' ? [] : index.split(';');
    for (let i = 0; i < batch.length; i++) {
      if (entries[i] === undefined) {
        // The script ended before taking (no such channel): the queue takes for itself if it must.
        batch[i].takeFailed();
        batch[i].notify();
        continue;
      }
      const entry = entries[i].split(',');
      const taken: string[] = [];
      for (let j = 2; j < entry.length; j++) taken.push(texts[Number(entry[j]) - 1]);
      batch[i].taken(taken, Number(entry[1]), epochs[i]);
    }
    // After the streams woken above have run (they are scheduled with setImmediate too, before this).
    setImmediate(() => {
      for (const queue of batch) queue.returnUntaken();
    });
  }
}

/** A listener id as the take function reads it: its length in bytes, ':', the id. */
function idEntry(listenerId: string): string {
  return `${Buffer.byteLength(listenerId)}:${listenerId}`;
}
