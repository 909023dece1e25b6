import { InvalidChannelException, InvalidConfigurationException, InvalidListenerException } from '../core/errors.js';
import { getEricLogger } from '../core/logger.js';
import { assertNonNegativeNumber } from '../core/validate.js';
import type { ChannelContainer } from './channel-container.js';

/** A listener, by its channel. */
export interface ListenerRef {
  channelId: string;
  listenerId: string;
}

/**
 * Where processes sharing channels (Redis) share when each listener was last streamed, so that a listener
 * streamed by any process is kept, and one process removes those nobody streamed.
 */
export interface IdleListenerStore {
  /**
   * Records what this process sees: `streaming` are streamed here now; `idle` are held here but not
   * streamed (their idle time starts now unless the store already has one).
   */
  refresh(streaming: ListenerRef[], idle: ListenerRef[]): Promise<void>;
  /**
   * Removes, with their queues and in every process, the listeners no process streamed for `idleMs`.
   * One process at a time reaps: a call made within `lockMs` of another process's removes nothing.
   * Resolves with the listeners this call removed.
   */
  reap(idleMs: number, lockMs: number): Promise<ListenerRef[]>;
}

export interface IdleListenerReaperOptions {
  /** How long a listener may go without being streamed before it is removed, in ms; 0: never (off). */
  idleTimeoutMilliseconds: number;
  /**
   * How often the one timer sweeps, in ms: more than 0, at most half the timeout. Default: half the
   * timeout, so a listener is removed between one and one and a half timeouts after its last stream ended.
   */
  sweepIntervalMilliseconds?: number;
  /** Shares activity with other processes (Redis); without it the container's channels are swept here. */
  store?: IdleListenerStore;
}

/**
 * Removes listeners that nobody has streamed for `idleTimeoutMilliseconds`, with their queues, so that
 * clients that never come back do not keep queues growing. "Streamed" means running: every stream starts
 * its listener when it opens and stops it when it ends, and a listener records when it was made or last
 * stopped (`MessageQueueListener.idleSince`). A running listener is never removed.
 *
 * One timer per reaper, whatever the number of listeners (none when off). In memory it sweeps the
 * container's channels. With a store (Redis), each sweep tells the store which listeners this process
 * streams, and the store removes, in every process, those that no process streamed for the timeout;
 * only one process reaps at a time.
 */
export class IdleListenerReaper {
  readonly idleTimeoutMilliseconds: number;
  readonly sweepIntervalMilliseconds: number;
  private readonly store: IdleListenerStore | undefined;
  private readonly reapedCallbacks = new Set<(listener: ListenerRef) => void>();
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<ListenerRef[]> | undefined;

  /** @throws InvalidConfigurationException for a bad timeout or interval. */
  constructor(
    private readonly container: ChannelContainer,
    options: IdleListenerReaperOptions,
  ) {
    this.idleTimeoutMilliseconds = assertNonNegativeNumber(options.idleTimeoutMilliseconds, 'idleTimeoutMilliseconds');
    const interval = options.sweepIntervalMilliseconds ?? this.idleTimeoutMilliseconds / 2;
    if (
      this.idleTimeoutMilliseconds > 0 &&
      (typeof interval !== 'number' || !(interval > 0) || interval > this.idleTimeoutMilliseconds / 2)
    ) {
      throw new InvalidConfigurationException(
        `sweepIntervalMilliseconds must be more than 0 and at most half of idleTimeoutMilliseconds (${this.idleTimeoutMilliseconds}), got ${String(interval)}`,
      );
    }
    this.sweepIntervalMilliseconds = interval;
    this.store = options.store;
  }

  /** False when `idleTimeoutMilliseconds` is 0: `start` then does nothing. */
  get enabled(): boolean {
    return this.idleTimeoutMilliseconds > 0;
  }

  /** Starts the timer (unless off or started). It does not keep the process alive. */
  start(): void {
    if (!this.enabled || this.timer !== undefined) return;
    this.timer = setInterval(() => {
      this.sweep().catch((error: unknown) => getEricLogger().error('Removing idle listeners failed', error));
    }, this.sweepIntervalMilliseconds);
    this.timer.unref();
  }

  /** Stops the timer and waits for a sweep in progress. */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.sweeping?.catch(() => undefined);
  }

  /** Calls back for each listener this reaper removes. Returns a function that cancels it. */
  onReaped(callback: (listener: ListenerRef) => void): () => void {
    this.reapedCallbacks.add(callback);
    return () => this.reapedCallbacks.delete(callback);
  }

  /**
   * Removes the listeners idle for the timeout now (what the timer runs); resolves with those removed.
   * A sweep asked for while one runs gets that one's result.
   */
  sweep(): Promise<ListenerRef[]> {
    if (!this.enabled) return Promise.resolve([]);
    return (this.sweeping ??= this.runSweep().finally(() => (this.sweeping = undefined)));
  }

  private async runSweep(): Promise<ListenerRef[]> {
    const reaped = this.store === undefined ? await this.sweepHere() : await this.sweepStore(this.store);
    for (const listener of reaped) {
      getEricLogger().debug(
        `Removed listener ${listener.listenerId} of channel ${listener.channelId}: not streamed for ${this.idleTimeoutMilliseconds} ms`,
      );
      for (const callback of this.reapedCallbacks) callback(listener);
    }
    return reaped;
  }

  private async sweepHere(): Promise<ListenerRef[]> {
    const cutoff = Date.now() - this.idleTimeoutMilliseconds;
    const reaped: ListenerRef[] = [];
    for (const channelId of this.container.getAllIds()) {
      if (!this.container.has(channelId)) continue; // removed during this sweep
      const channel = this.container.get(channelId);
      for (const { listener } of channel.getConnections()) {
        const since = listener.idleSince;
        if (since === undefined || since > cutoff || !channel.hasListener(listener.id)) continue;
        try {
          await channel.removeListener(listener.id);
        } catch (error) {
          if (error instanceof InvalidListenerException || error instanceof InvalidChannelException) continue;
          throw error;
        }
        reaped.push({ channelId, listenerId: listener.id });
      }
    }
    return reaped;
  }

  private async sweepStore(store: IdleListenerStore): Promise<ListenerRef[]> {
    const streaming: ListenerRef[] = [];
    const idle: ListenerRef[] = [];
    for (const channelId of this.container.getAllIds()) {
      if (!this.container.has(channelId)) continue;
      for (const { listener } of this.container.get(channelId).getConnections()) {
        (listener.isRunning() ? streaming : idle).push({ channelId, listenerId: listener.id });
      }
    }
    await store.refresh(streaming, idle);
    return store.reap(this.idleTimeoutMilliseconds, this.sweepIntervalMilliseconds);
  }
}
