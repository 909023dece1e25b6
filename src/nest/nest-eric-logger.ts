import { inspect } from 'node:util';
import type { LoggerService } from '@nestjs/common';
import type { EricLogger } from '../core/logger.js';

/** Adapts a Nest logger to what the framework-free core logs through (`setEricLogger`). */
export function toEricLogger(logger: LoggerService): EricLogger {
  return {
    debug: (message) => logger.debug?.(message),
    error: (message, error) => {
      if (error instanceof Error) logger.error(`${message}: ${error.message}`, error.stack);
      else if (error === undefined) logger.error(message);
      else logger.error(`${message}: ${inspect(error)}`);
    },
  };
}
