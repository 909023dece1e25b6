import { InvalidMessageFormat } from '../../core/errors.js';
import { assertIdempotencyKey } from '../../core/idempotency.js';

/** The request header carrying a broadcast's or a dispatch's idempotency key (lower case, as Node gives it). */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

/** Set to `true` on the answer to a request whose idempotency key was seen: nothing was queued again. */
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';

/**
 * The key the `Idempotency-Key` header values give (undefined: no header). Two headers, or a key
 * `assertIdempotencyKey` refuses, are `InvalidMessageFormat`.
 */
export function idempotencyKeyFromHeader(values: readonly string[] | undefined): string | undefined {
  if (values === undefined) return undefined;
  if (values.length !== 1) {
    throw new InvalidMessageFormat(`Send one Idempotency-Key header, got ${values.length}`);
  }
  return assertIdempotencyKey(values[0]);
}
