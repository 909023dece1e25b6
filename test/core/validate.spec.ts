import { describe, expect, it } from '@jest/globals';
import { InvalidConfigurationException } from '../../src/index.js';
import { assertInteger, assertNonEmptyString, assertNonNegativeNumber } from '../../src/core/validate.js';

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('assertNonNegativeNumber', () => {
  it.each([0, 0.5, 3, 1e9])('returns %p', (value) => {
    expect(assertNonNegativeNumber(value, 'delay')).toBe(value);
  });

  it.each([-1, -0.001, Number.NaN, Number.POSITIVE_INFINITY, '1', null, undefined])(
    'rejects %p naming the option',
    (value) => {
      const error = errorOf(() => assertNonNegativeNumber(value, 'delay'));
      expect(error).toBeInstanceOf(InvalidConfigurationException);
      expect((error as Error).message).toContain('delay');
    },
  );
});

describe('assertInteger', () => {
  it.each([1, 2, 100])('returns %p when >= 1', (value) => {
    expect(assertInteger(value, 'maxWorkers', 1)).toBe(value);
  });

  it.each([0, -3, 1.5, Number.NaN, '2', undefined])('rejects %p naming the option and the minimum', (value) => {
    const error = errorOf(() => assertInteger(value, 'maxWorkers', 1));
    expect(error).toBeInstanceOf(InvalidConfigurationException);
    expect((error as Error).message).toContain('maxWorkers');
    expect((error as Error).message).toContain('>= 1');
  });
});

describe('assertNonEmptyString', () => {
  it('returns a non-empty string', () => {
    expect(assertNonEmptyString('abc', 'channelId')).toBe('abc');
  });

  it.each(['', 3, null, undefined, {}])('rejects %p naming the option', (value) => {
    const error = errorOf(() => assertNonEmptyString(value, 'channelId'));
    expect(error).toBeInstanceOf(InvalidConfigurationException);
    expect((error as Error).message).toContain('channelId');
  });
});
