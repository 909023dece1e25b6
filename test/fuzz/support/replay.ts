/**
 * `FUZZ_SEED=<seed> [FUZZ_PATH=<path>]` replays the run fast-check printed with a failure; without
 * them, every run draws a new seed.
 */
export function replay(): { seed?: number; path?: string } {
  const seed = process.env.FUZZ_SEED;
  if (seed === undefined || seed === '') return {};
  const path = process.env.FUZZ_PATH;
  return path === undefined || path === '' ? { seed: Number(seed) } : { seed: Number(seed), path };
}

/**
 * On a loaded machine (this one has two cores, shared), a property stops starting new runs after 25 s
 * and passes on the runs it made; any failure still fails and shrinks.
 */
export const TIME_BOUND = { interruptAfterTimeLimit: 25_000, markInterruptAsFailure: false } as const;
