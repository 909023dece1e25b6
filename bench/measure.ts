import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** How many times each variant runs: unrecorded warm-up rounds, then recorded ones. */
export interface Rounds {
  warmup: number;
  measured: number;
}

export function median(samples: readonly number[]): number {
  if (samples.length === 0) throw new Error('median of no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

// `npm run bench` starts node without --expose-gc; the flag can still be turned on at run time and the
// function fetched from a fresh context. Collecting between rounds keeps one round's garbage out of the next.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (() => void) | undefined;

export function collectGarbage(): void {
  gc?.();
  gc?.();
}

/**
 * Runs every variant `rounds.warmup + rounds.measured` times. Variants take turns within each round, so
 * drift in machine load (this machine is shared) hits all of them alike. Returns the measured samples.
 */
export async function alternateRounds<Name extends string>(
  variants: Record<Name, () => Promise<number>>,
  rounds: Rounds,
  onRound?: (label: string, samples: Record<Name, number>) => void,
): Promise<Record<Name, number[]>> {
  const names = Object.keys(variants) as Name[];
  const samples = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<Name, number[]>;
  for (let round = 0; round < rounds.warmup + rounds.measured; round++) {
    const current = {} as Record<Name, number>;
    for (const name of names) {
      collectGarbage();
      current[name] = await variants[name]();
    }
    if (round >= rounds.warmup) for (const name of names) samples[name].push(current[name]);
    onRound?.(round < rounds.warmup ? `warm-up ${round + 1}` : `round ${round - rounds.warmup + 1}`, current);
  }
  return samples;
}

/**
 * The median of per-round ratios a[i] / b[i]. Samples of one round ran back to back, so pairing them
 * cancels most of the drift that a ratio of two medians would keep.
 */
export function medianRatio(a: readonly number[], b: readonly number[]): number {
  return median(a.map((value, i) => value / b[i]));
}

/** Resolves on the next turn of the event loop, after every pending microtask has run. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
