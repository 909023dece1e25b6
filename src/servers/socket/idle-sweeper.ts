/** A connection waiting for its command; `onIdle` runs once it has been silent past its deadline. */
export interface IdleWatch {
  deadline: number;
  onIdle(): void;
}

/**
 * One interval timer for the idle timeouts of every connection with the same timeout, instead of a timer
 * per socket: arming and clearing a timer per connection was a measurable share of a short command's cost.
 * A connection idle for `timeoutMs` is noticed within a tenth of that more (at least 5 ms).
 */
export class IdleSweeper {
  private static readonly byTimeout = new Map<number, IdleSweeper>();

  static for(timeoutMs: number): IdleSweeper {
    let sweeper = IdleSweeper.byTimeout.get(timeoutMs);
    if (sweeper === undefined) {
      sweeper = new IdleSweeper(timeoutMs);
      IdleSweeper.byTimeout.set(timeoutMs, sweeper);
    }
    return sweeper;
  }

  private readonly watches = new Set<IdleWatch>();
  private timer: NodeJS.Timeout | undefined;

  private constructor(readonly timeoutMs: number) {}

  /** Starts watching; the deadline is `timeoutMs` from now. */
  watch(onIdle: () => void): IdleWatch {
    const watch = { deadline: Date.now() + this.timeoutMs, onIdle };
    this.watches.add(watch);
    this.timer ??= setInterval(() => this.sweep(), Math.max(5, Math.ceil(this.timeoutMs / 10))).unref();
    return watch;
  }

  /** The connection was active: its deadline moves to `timeoutMs` from now. */
  touch(watch: IdleWatch): void {
    watch.deadline = Date.now() + this.timeoutMs;
  }

  unwatch(watch: IdleWatch): void {
    this.watches.delete(watch);
  }

  private sweep(): void {
    const now = Date.now();
    for (const watch of this.watches) {
      if (watch.deadline <= now) {
        this.watches.delete(watch);
        watch.onIdle();
      }
    }
    if (this.watches.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
