import { RepositoryError } from '../core/errors.js';

/**
 * True for an error Redis itself answered (`ReplyError`: a wrong type, a script error...); false for
 * the client's own errors: not connected, connection lost with the command in flight, timeout.
 */
export function isReplyError(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError';
}

/**
 * The `RepositoryError` for a failed Redis command. When the connection failed with the command in
 * flight, Redis may or may not have run it: the message says so.
 */
export function repositoryError(action: string, error: unknown): RepositoryError {
  const detail = error instanceof Error ? error.message : String(error);
  if (isReplyError(error)) return new RepositoryError(`Redis refused to ${action}: ${detail}`);
  return new RepositoryError(`Redis is unavailable, could not ${action}: ${detail}`);
}

/** Runs a Redis command, turning its failure into a `RepositoryError`. */
export async function redisCall<T>(action: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw repositoryError(action, error);
  }
}
