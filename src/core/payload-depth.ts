import { InvalidMessageFormat } from './errors.js';

/**
 * How deep a payload received from a client may nest arrays and objects inside one another. Encoding a
 * payload for a stream (JSON, Python-style JSON) recurses once per level, and a few thousand levels
 * exhaust the call stack: the message would be accepted, then lost at delivery. The socket commands
 * and the REST endpoints refuse deeper payloads up front instead. (Python's own `json` gives up near
 * 1,000 levels; JSON libraries commonly stop at 100 to 512.)
 */
export const MAX_PAYLOAD_DEPTH = 512;

/**
 * Throws `InvalidMessageFormat` when `payload` nests more than `maxDepth` arrays or objects (`[]` is
 * depth 1, a scalar depth 0). Iterative, so any depth is safe to check.
 */
export function assertPayloadDepth(payload: unknown, maxDepth: number = MAX_PAYLOAD_DEPTH): void {
  if (typeof payload !== 'object' || payload === null) return;
  const pending: unknown[] = [payload];
  const depths: number[] = [1];
  while (pending.length > 0) {
    const value = pending.pop() as object;
    const depth = depths.pop() as number;
    if (depth > maxDepth) {
      throw new InvalidMessageFormat(`The payload nests deeper than ${maxDepth} levels of arrays and objects`);
    }
    for (const item of Object.values(value)) {
      if (typeof item === 'object' && item !== null) {
        pending.push(item);
        depths.push(depth + 1);
      }
    }
  }
}
