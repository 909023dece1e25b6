import { RepositoryError } from '../core/errors.js';

/**
 * True for an error Redis itself answered (`ReplyError`: a wrong type, a script error...); false for
 * the client's own errors: not connected, connection lost with the command in flight, timeout.
 */
export function isReplyError(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError';
}

/**
 * True when the command was never sent (the connection was down): Redis did not run it. ioredis fails
 * such a command at once, as the backend disables its offline queue.
 */
export function wasNotSent(error: unknown): boolean {
  return error instanceof Error && /isn't writeable|enableOfflineQueue/.test(error.message);
}

/**
 * The `RepositoryError` for a failed Redis command. When the command was sent but not answered (timed
 * out, or the connection failed with it in flight), Redis may or may not have run it: the message says
 * the outcome is unknown, so a caller retries with the same idempotency key.
 */
export function repositoryError(action: string, error: unknown): RepositoryError {
  const detail = error instanceof Error ? error.message : String(error);
  const cause = { cause: error };
  if (isReplyError(error)) return new RepositoryError(`Redis refused to ${action}: ${detail}`, cause);
  if (wasNotSent(error)) return new RepositoryError(`Redis is unavailable, could not ${action}: ${detail}`, cause);
  return new RepositoryError(
    `Redis is unavailable, could not ${action}; the outcome is unknown (it may have been applied): ${detail}`,
    cause,
  );
}

/**
 * True when a failed command (or the `RepositoryError` made of its failure) may have run: it was sent and
 * not answered (timed out, or the connection failed with it in flight).
 */
export function outcomeUnknown(error: unknown): boolean {
  const failure = error instanceof RepositoryError && error.cause !== undefined ? error.cause : error;
  return !isReplyError(failure) && !wasNotSent(failure);
}

/** Runs a Redis command, turning its failure into a `RepositoryError`. */
export async function redisCall<T>(action: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw repositoryError(action, error);
  }
}
