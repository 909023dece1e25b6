import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { getEricLogger, setEricLogger, type EricLogger } from '../../src/index.js';

describe('logger', () => {
  afterEach(() => {
    setEricLogger();
    jest.restoreAllMocks();
  });

  it('writes errors to stderr by default and drops debug', () => {
    const spy = jest.spyOn(console, 'error').mockImplementation(() => {});
    const cause = new Error('cause');
    getEricLogger().error('it failed', cause);
    getEricLogger().error('no cause');
    getEricLogger().debug('quiet');
    expect(spy).toHaveBeenCalledTimes(2);
    expect(spy).toHaveBeenNthCalledWith(1, '[eric-sse] it failed', cause);
    expect(spy).toHaveBeenNthCalledWith(2, '[eric-sse] no cause', '');
  });

  it('can be replaced and restored', () => {
    const lines: string[] = [];
    const custom: EricLogger = {
      debug: (m) => lines.push(`debug ${m}`),
      error: (m) => lines.push(`error ${m}`),
    };
    const original = getEricLogger();
    setEricLogger(custom);
    expect(getEricLogger()).toBe(custom);
    getEricLogger().debug('a');
    getEricLogger().error('b');
    expect(lines).toEqual(['debug a', 'error b']);
    setEricLogger();
    expect(getEricLogger()).toBe(original);
  });
});
