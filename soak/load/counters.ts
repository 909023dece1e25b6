/** What the load did, as the periodic lines and the summary print it. */
export class Counters {
  /** Messages the server accepted (REST broadcast/dispatch answered 202, socket b/d answered ack). */
  sent = 0;
  /** Deliveries those messages were queued for (a broadcast counts once per listener). */
  queued = 0;
  /** Events and lines the clients received (SSE events, socket stream lines). */
  received = 0;
  restCalls = 0;
  socketCommands = 0;
  /** SSE connections opened so far. */
  streamsOpened = 0;
  /** Expected misses of a churning load: a 404 for a listener or channel removed a moment before. */
  races = 0;
  /** Anything else: 5xx, a wrong answer, a network error, a timeout. The verdict fails on any. */
  failures = 0;
  readonly failureSamples: string[] = [];

  fail(what: string): void {
    this.failures++;
    if (this.failureSamples.length < 10) this.failureSamples.push(what);
  }
}

/** Runs `task` every `intervalMs`, with at most `maxInFlight` runs at once, until `stop()`. */
export class Ticker {
  private readonly timer: NodeJS.Timeout;
  private inFlight = 0;
  private readonly running = new Set<Promise<void>>();

  constructor(intervalMs: number, task: () => Promise<void>, onError: (error: unknown) => void, maxInFlight = 8) {
    this.timer = setInterval(() => {
      if (this.inFlight >= maxInFlight) return;
      this.inFlight++;
      const run: Promise<void> = task()
        .catch(onError)
        .finally(() => {
          this.inFlight--;
          this.running.delete(run);
        });
      this.running.add(run);
    }, intervalMs);
  }

  /** Stops starting runs; resolves once the runs in flight are done. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.running]);
  }
}

export function pick<T>(items: readonly T[]): T | undefined {
  return items.length === 0 ? undefined : items[Math.floor(Math.random() * items.length)];
}

export function between(min: number, max: number): number {
  return min + Math.random() * (max - min);
}
