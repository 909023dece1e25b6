import { Connection, type ConnectionsFactory } from '../core/connection.js';
import { InvalidConfigurationException } from '../core/errors.js';
import { MessageQueueListener } from '../core/listener.js';
import type { RedisBackend } from './redis-backend.js';
import { RedisQueue } from './redis-queue.js';

/**
 * Gives each listener a `RedisQueue` named after its channel and id. Channels pass their id. With
 * `trackIdleListeners`, the listener's starts and stops are recorded in Redis from then on.
 */
export class RedisConnectionsFactory implements ConnectionsFactory {
  constructor(readonly backend: RedisBackend) {}

  create(listener: MessageQueueListener = new MessageQueueListener(), channelId?: string): Connection {
    if (typeof channelId !== 'string' || channelId === '') {
      throw new InvalidConfigurationException(
        'RedisConnectionsFactory.create needs the channel id: a Redis queue is named after its channel and listener',
      );
    }
    this.backend.idleListeners?.track(listener, channelId);
    return new Connection(listener, new RedisQueue(this.backend, channelId, listener.id));
  }
}
