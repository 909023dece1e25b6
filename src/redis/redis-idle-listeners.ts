import { getEricLogger } from '../core/logger.js';
import type { MessageQueueListener } from '../core/listener.js';
import type { IdleListenerStore, ListenerRef } from '../servers/idle-listener-reaper.js';
import type { RedisBackend } from './redis-backend.js';
import { redisCall } from './redis-errors.js';

/** Candidates one reaping round looks at, at most; the rest wait for the next round. */
const MAX_REAPED_PER_ROUND = 1000;

/**
 * When each listener was last streamed, in Redis, for every process: `<p>idle-listeners`, a sorted set of
 * `JSON [channel id, listener id]` scored by Redis's clock in ms (so skewed process clocks do not matter).
 *
 * Each process records its own listeners: at once when one starts or stops (a stream opens or ends: see
 * `MessageQueueListener.observeActivity`, hooked by the backend's connections factory), and at each sweep
 * of its `IdleListenerReaper`, which refreshes those it streams (so a long stream, or one whose process
 * died, is judged by its last refresh) and adds those it holds but Redis has no time for. One process
 * reaps per round: the first to take `<p>idle-reaper` (a lock expiring after one sweep interval) removes,
 * each in one script that checks it is still idle, the listeners idle for the timeout, with their queues
 * and histories, and announces each removal as `removeListener` does. Entries of listeners removed
 * otherwise are dropped when they come up as candidates.
 */
export class RedisIdleListeners implements IdleListenerStore {
  readonly key: string;
  readonly lockKey: string;
  /** Listeners of this process running now, by member: refreshed every sweep, whoever holds their channel. */
  private readonly running = new Map<string, ListenerRef>();

  constructor(readonly backend: RedisBackend) {
    this.key = `${backend.keys.prefix}idle-listeners`;
    this.lockKey = `${backend.keys.prefix}idle-reaper`;
  }

  /**
   * Records `listener`'s starts and stops in `channelId` from now on, and its idle time from now unless
   * Redis has one. Called by the connections factory for every Redis connection it makes.
   */
  track(listener: MessageQueueListener, channelId: string): void {
    const ref = { channelId, listenerId: listener.id };
    const key = member(ref);
    listener.observeActivity((running) => {
      if (running) this.running.set(key, ref);
      else this.running.delete(key);
      this.record([ref], []);
    });
    if (listener.isRunning()) this.running.set(key, ref);
    this.record([], [ref]);
  }

  /** Records `streaming` and every listener this process runs as streamed now, `idle` as held but idle. */
  refresh(streaming: ListenerRef[], idle: ListenerRef[]): Promise<void> {
    const now = new Set(this.running.keys());
    for (const ref of streaming) now.add(member(ref));
    return this.touch([...now], idle.map(member));
  }

  async reap(idleMs: number, lockMs: number): Promise<ListenerRef[]> {
    const { scripts, hub } = this.backend;
    const candidates = (await redisCall('find idle listeners', () =>
      scripts.run(
        'ericSseIdleCandidates',
        [this.key, this.lockKey],
        [idleMs, Math.ceil(lockMs), hub.origin, MAX_REAPED_PER_ROUND],
      ),
    )) as string[] | null;
    if (candidates === null) return [];
    const reaped: ListenerRef[] = [];
    await Promise.all(
      candidates.map(async (text) => {
        const ref = parseMember(text);
        if (ref === undefined || !(await this.reapOne(text, ref, idleMs))) return;
        reaped.push(ref);
        await this.backend.channelRepository.forgetListener(ref.channelId, ref.listenerId);
      }),
    );
    return reaped;
  }

  private async reapOne(text: string, { channelId, listenerId }: ListenerRef, idleMs: number): Promise<boolean> {
    const { keys, scripts } = this.backend;
    const removed = await redisCall(`remove idle listener ${listenerId} of channel ${channelId}`, () =>
      scripts.run(
        'ericSseReapListener',
        [
          this.key,
          keys.channels,
          keys.listeners(channelId),
          keys.listenerTypes(channelId),
          keys.queue(channelId, listenerId),
          keys.eventId(channelId, listenerId),
          keys.history(channelId, listenerId),
        ],
        [text, channelId, listenerId, idleMs, keys.control, JSON.stringify({ rl: [channelId, listenerId] })],
      ),
    );
    return removed === 1;
  }

  /** Records one start or stop (or a new listener) now, in the background: the next sweep retries a failure. */
  private record(streaming: ListenerRef[], idle: ListenerRef[]): void {
    this.touch(streaming.map(member), idle.map(member)).catch((error: unknown) =>
      getEricLogger().debug(`Recording listener activity in Redis failed: ${String(error)}`),
    );
  }

  private touch(streaming: string[], idle: string[]): Promise<void> {
    if (streaming.length === 0 && idle.length === 0) return Promise.resolve();
    return redisCall('record listener activity', async () => {
      await this.backend.scripts.run('ericSseIdleTouch', [this.key], [streaming.length, ...streaming, ...idle]);
    });
  }
}

function member({ channelId, listenerId }: ListenerRef): string {
  return JSON.stringify([channelId, listenerId]);
}

function parseMember(text: string): ListenerRef | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (Array.isArray(parsed) && typeof parsed[0] === 'string' && typeof parsed[1] === 'string') {
      return { channelId: parsed[0], listenerId: parsed[1] };
    }
  } catch {
    // Not ours: skipped.
  }
  return undefined;
}
