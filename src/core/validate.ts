import { InvalidConfigurationException } from './errors.js';

/** Returns `value` when it is a finite number >= 0; throws naming `name` otherwise. */
export function assertNonNegativeNumber(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidConfigurationException(`${name} must be a finite number >= 0, got ${String(value)}`);
  }
  return value;
}

/** Returns `value` when it is an integer >= `min`; throws naming `name` otherwise. */
export function assertInteger(value: unknown, name: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new InvalidConfigurationException(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

/** Returns `value` when it is a non-empty string; throws naming `name` otherwise. */
export function assertNonEmptyString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new InvalidConfigurationException(`${name} must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  return value;
}
