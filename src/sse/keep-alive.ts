/** Something a keep-alive ticker can nudge. */
export interface KeepAliveTarget {
  /** Writes a keep-alive comment if nothing was written since the last beat. */
  beat(): void;
}

// One timer per interval, shared by every stream using it, and only while one does: no timer per
// stream, and none left behind once the streams end.
const tickers = new Map<number, { targets: Set<KeepAliveTarget>; timer: NodeJS.Timeout }>();

/** Beats `target` every `intervalMs` until the returned function is called. */
export function keepAlive(target: KeepAliveTarget, intervalMs: number): () => void {
  let ticker = tickers.get(intervalMs);
  if (ticker === undefined) {
    const targets = new Set<KeepAliveTarget>();
    const timer = setInterval(() => {
      for (const t of targets) t.beat();
    }, intervalMs);
    timer.unref();
    ticker = { targets, timer };
    tickers.set(intervalMs, ticker);
  }
  const { targets, timer } = ticker;
  targets.add(target);
  return () => {
    if (!targets.delete(target) || targets.size > 0) return;
    clearInterval(timer);
    if (tickers.get(intervalMs)?.targets === targets) tickers.delete(intervalMs);
  };
}

/** How many keep-alive timers run (one per interval in use). */
export function activeKeepAliveTimers(): number {
  return tickers.size;
}
