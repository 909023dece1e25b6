import { it } from '@jest/globals';

/**
 * Checks this suite shows failing today, skipped (and said so) unless `FAULT_KNOWN_LOSSES=run`: the
 * losses they find are open work, not passes. Run them with that variable to see the counts.
 */
export const RUN_KNOWN_LOSSES = process.env.FAULT_KNOWN_LOSSES === 'run';

export function itKnownLoss(name: string, fn: () => Promise<void>, timeout?: number): void {
  if (RUN_KNOWN_LOSSES) {
    it(name, fn, timeout);
    return;
  }
  console.log(`fault suite: SKIPPED (known loss, open; FAULT_KNOWN_LOSSES=run runs it): ${name}`);
  it.skip(`[known loss] ${name}`, fn, timeout);
}
