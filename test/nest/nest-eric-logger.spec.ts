import { describe, expect, it } from '@jest/globals';
import { toEricLogger } from '../../src/nest/nest-eric-logger.js';
import { RecordingLogger } from './support.js';

describe('toEricLogger', () => {
  it('passes debug lines and errors of any kind to the Nest logger', () => {
    const nest = new RecordingLogger();
    const logger = toEricLogger(nest);
    logger.debug('quiet');
    logger.error('plain');
    logger.error('with error', new TypeError('bad'));
    logger.error('with value', { code: 7 });
    expect(nest.lines).toEqual([
      { level: 'debug', message: 'quiet' },
      { level: 'error', message: 'plain' },
      { level: 'error', message: 'with error: bad' },
      { level: 'error', message: 'with value: { code: 7 }' },
    ]);
  });

  it('skips debug lines when the Nest logger has no debug level', () => {
    const lines: string[] = [];
    const logger = toEricLogger({ log: () => {}, warn: () => {}, error: (message: string) => lines.push(message) });
    logger.debug('quiet');
    logger.error('loud');
    expect(lines).toEqual(['loud']);
  });
});
