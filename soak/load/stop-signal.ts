/** A stop every waiting loop can race against, so that stopping never waits out a sleep. */
export class StopSignal {
  stopped = false;
  private readonly waiters = new Set<() => void>();

  stop(): void {
    this.stopped = true;
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  /** Resolves after `ms`, or at once when stopped. */
  sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.waiters.add(wake);
    });
  }
}
