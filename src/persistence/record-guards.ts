import { RepositoryError } from '../core/errors.js';

/** A JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

/** The error for a stored record that does not have the expected shape. */
export function malformed(what: string, value: unknown, reason: string): RepositoryError {
  return new RepositoryError(`Malformed ${what} record (${reason}): ${preview(value)}`);
}

function preview(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
