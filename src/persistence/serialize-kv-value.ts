import { RepositoryError } from '../core/errors.js';

/** A `KvStorage` value as the JSON text it is stored as; `RepositoryError` naming the key when it is not JSON-compatible. */
export function serializeKvValue(key: string, value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new RepositoryError(`Value for key ${key} is not JSON-compatible: ${(error as Error).message}`);
  }
  if (text === undefined) throw new RepositoryError(`Value for key ${key} is not JSON-compatible: ${String(value)}`);
  return text;
}
