import { getEricLogger } from '../core/logger.js';
import type { RedisBackend } from './redis-backend.js';
import { isReplyError } from './redis-errors.js';
import type { RedisQueue } from './redis-queue.js';

/** At most this many messages are taken for one waiting stream at a time. */
export const MAX_TAKEN_PER_QUEUE = 32;
/** Queues taken from in one script; more are split across several. */
const MAX_QUEUES_PER_SCRIPT = 1000;

/**
 * Takes messages for the streams that wait in this process: every queue that asks in one tick (say,
 * the thousand local streams one broadcast woke) is served by one script, one round trip. What a
 * stream does not take by the end of that turn of the event loop goes back to the head of its list.
 */
export class RedisTaker {
  private pending: RedisQueue[] = [];
  private scheduled = false;

  constructor(private readonly backend: RedisBackend) {}

  /** Takes for `queue` with the others asking in this tick. */
  request(queue: RedisQueue): void {
    this.pending.push(queue);
    if (this.scheduled) return;
    this.scheduled = true;
    process.nextTick(this.flush);
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
    // Grouped by channel: the script gets each channel's key prefix once, then the listener ids.
    const byChannel = new Map<string, RedisQueue[]>();
    for (const queue of queues) {
      const group = byChannel.get(queue.channelId);
      if (group === undefined) byChannel.set(queue.channelId, [queue]);
      else group.push(queue);
    }
    const batch: RedisQueue[] = [];
    const args: (string | number)[] = [MAX_TAKEN_PER_QUEUE];
    for (const [channelId, group] of byChannel) {
      args.push(this.backend.keys.queuePrefix(channelId), group.length);
      for (const queue of group) {
        batch.push(queue);
        args.push(queue.listenerId);
      }
    }
    const epochs = batch.map((queue) => queue.epochNow);
    this.backend.scripts.run('ericSseTake', [], args).then(
      (reply) => {
        const flat = reply as (string | number)[];
        let at = 0;
        for (let i = 0; i < batch.length; i++) {
          const count = Number(flat[at++]);
          const texts = flat.slice(at, at + count) as string[];
          at += count;
          batch[i].taken(texts, Number(flat[at++]), epochs[i]);
        }
        // After the streams woken above have run (they are scheduled with setImmediate too, before this).
        setImmediate(() => {
          for (const queue of batch) queue.returnUntaken();
        });
      },
      (error: unknown) => {
        // Unreachable: the queues are notified once Redis is back. Refused: a real fault, logged.
        if (isReplyError(error)) getEricLogger().error('Taking messages from Redis failed', error);
        for (const queue of batch) queue.takeFailed();
      },
    );
  }
}
