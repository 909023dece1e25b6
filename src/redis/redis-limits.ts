import { getEricLogger } from '../core/logger.js';

/** A bound as the scripts take it: 0 for none. */
export function boundArg(bound: number): number {
  return bound === Infinity ? 0 : bound;
}

/** Logs, at debug, the messages full queues dropped (overflow 'drop-oldest'). */
export function logDropped(dropped: number, where: string, maxQueueSize: number): void {
  getEricLogger().debug(`Full queues (maxQueueSize ${maxQueueSize}): dropped ${dropped} oldest message(s) of ${where}`);
}
