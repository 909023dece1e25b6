import { QueueFullException } from './errors.js';

/**
 * The error of a dispatch or broadcast that full queues refused (overflow `reject`): it names each such
 * listener (the first ten in the message, all in `listenerIds`) and says that nothing was queued.
 */
export function queuesFullException(channelId: string, listenerIds: readonly string[]): QueueFullException {
  const shown = listenerIds.slice(0, 10).join(', ');
  const more = listenerIds.length > 10 ? ` and ${listenerIds.length - 10} more` : '';
  const whose = listenerIds.length === 1 ? `queue of listener ${shown} is` : `queues of listeners ${shown}${more} are`;
  return new QueueFullException(
    `The ${whose} full in channel ${channelId} (overflow 'reject'): nothing was queued`,
    listenerIds,
  );
}
