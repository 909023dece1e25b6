import type { AbstractChannel } from '../core/channel.js';
import type { Connection } from '../core/connection.js';
import {
  InvalidChannelException,
  InvalidConfigurationException,
  InvalidListenerException,
  TooManyListenersException,
} from '../core/errors.js';
import { idempotencyKeyOf, type PublishOptions } from '../core/idempotency.js';
import { queuesFullException } from '../core/queue-full.js';
import { assertPayloadFits } from '../core/limits.js';
import type { MessageContract } from '../core/message.js';
import { encodeMessage } from '../persistence/message-codec.js';
import type { RedisBackend } from './redis-backend.js';
import { redisCall } from './redis-errors.js';
import { boundArg, logDropped } from './redis-limits.js';
import { RedisQueue } from './redis-queue.js';
import { MAX_TAKEN_PER_QUEUE } from './redis-taker.js';
import { broadcastWake, listenerWake } from './redis-wake-hub.js';

/** What a Redis channel class lets its link do on the plain (local) channel underneath. */
export interface LocalChannelOps {
  /** `AbstractChannel.registerConnection` of the class below: registers here only. */
  register(connection: Connection): Promise<void>;
  /** `AbstractChannel.removeListener` of the class below: removes and stops here only. */
  remove(listenerId: string): Promise<void>;
}

/**
 * The Redis side of one channel, shared by the Redis channel classes. Redis holds the truth (the
 * channel's listeners, in order, with their type names, and their queues); the channel object holds the
 * listeners this process attached: those registered here and those it resolved.
 */
export class RedisChannelLink {
  private readonly resolving = new Map<string, Promise<Connection>>();

  constructor(
    readonly backend: RedisBackend,
    private readonly channel: AbstractChannel,
    private readonly local: LocalChannelOps,
  ) {}

  /**
   * Stores the listener in the channel (a listener already stored with the same type is re-attached,
   * queue kept: that is how a restarted process takes its listeners back), then attaches it here.
   */
  async register(connection: Connection): Promise<void> {
    const { channel, backend } = this;
    const { listener, queue } = connection;
    if (channel.hasListener(listener.id)) {
      throw new InvalidListenerException(`Listener ${listener.id} is already registered in channel ${channel.id}`);
    }
    if (
      !(queue instanceof RedisQueue) ||
      queue.channelId !== channel.id ||
      queue.listenerId !== listener.id ||
      !backend.owns(queue)
    ) {
      throw new InvalidConfigurationException(
        `Channel ${channel.id} is kept in Redis: its connections must come from its RedisConnectionsFactory`,
      );
    }
    const typeName = backend.listenerRegistry.typeNameOf(listener);
    const { keys } = backend;
    const answer = String(
      await redisCall(`register listener ${listener.id} in channel ${channel.id}`, () =>
        backend.scripts.run(
          'ericSseRegisterListener',
          [keys.channels, keys.listeners(channel.id), keys.listenerTypes(channel.id), keys.seq],
          [channel.id, listener.id, typeName, boundArg(channel.maxListeners)],
        ),
      ),
    );
    if (answer === 'no-channel') throw noChannel(channel.id);
    if (answer === 'full') {
      throw new TooManyListenersException(
        `Cannot add a listener to channel ${channel.id}: maxListeners (${channel.maxListeners}) reached`,
      );
    }
    if (answer.startsWith('existing:')) {
      const stored = answer.slice('existing:'.length);
      if (stored !== typeName) {
        throw new InvalidListenerException(
          `Listener ${listener.id} of channel ${channel.id} is stored as a ${stored}, not a ${typeName}`,
        );
      }
    }
    await this.local.register(connection);
  }

  /** Removes the listener and its queue from Redis; every process stops its streams. */
  async remove(listenerId: string): Promise<void> {
    const { channel, backend } = this;
    const { keys } = backend;
    const removed = await redisCall(`remove listener ${listenerId} from channel ${channel.id}`, () =>
      backend.scripts.run(
        'ericSseRemoveListener',
        [
          keys.channels,
          keys.listeners(channel.id),
          keys.listenerTypes(channel.id),
          keys.queue(channel.id, listenerId),
          keys.eventId(channel.id, listenerId),
          keys.history(channel.id, listenerId),
        ],
        [channel.id, listenerId, keys.control, JSON.stringify({ rl: [channel.id, listenerId] })],
      ),
    );
    await this.detach(listenerId);
    if (removed === -1) throw noChannel(channel.id);
    if (removed === 0) throw noListener(listenerId, channel.id);
  }

  /**
   * One script: queue (within the backend's queue bound), announce, and take for the streams of this
   * process waiting on the listener; with an idempotency key, only if the key is new (else nothing).
   */
  async dispatch(listenerId: string, msg: MessageContract, options?: PublishOptions): Promise<void> {
    const { channel, backend } = this;
    const { keys, taker, limits } = backend;
    const idempotency = this.idempotencyArgs(options);
    assertPayloadFits(msg, channel.maxPayloadBytes, `channel ${channel.id}`);
    const encoded = JSON.stringify(encodeMessage(msg));
    const piggyback = taker.piggyback(channel.id, listenerId);
    let reply: unknown[];
    try {
      reply = (await redisCall(`dispatch to listener ${listenerId} of channel ${channel.id}`, () =>
        backend.scripts.run(
          'ericSseDispatch',
          [keys.channels, keys.listeners(channel.id), keys.queue(channel.id, listenerId), piggyback.ledger],
          [
            channel.id,
            listenerId,
            encoded,
            keys.wake(channel.id),
            listenerWake(backend.hub.origin, listenerId),
            MAX_TAKEN_PER_QUEUE,
            keys.queuePrefix(channel.id),
            piggyback.ids,
            boundArg(limits.maxQueueSize),
            limits.queueOverflow,
            ...idempotency,
          ],
        ),
      )) as unknown[];
    } catch (error) {
      taker.abandon(piggyback, error);
      throw error;
    }
    const [queued, dropped, index, ...texts] = reply as [number, number, string, ...string[]];
    const replayed = dropped === REPLAYED;
    taker.complete(piggyback, queued === 1 && !replayed, index, texts);
    if (replayed) {
      options?.onReplay?.();
      return;
    }
    if (queued === -1) throw noChannel(channel.id);
    if (queued === 0) throw noListener(listenerId, channel.id);
    if (queued === -2) throw queuesFullException(channel.id, [listenerId]);
    if (dropped > 0) logDropped(dropped, `listener ${listenerId} of channel ${channel.id}`, limits.maxQueueSize);
  }

  /**
   * One script, however many listeners (and one publish for the channel); it also takes for the streams of
   * this process waiting on the channel. Resolves with how many listeners the message was queued for; with
   * an idempotency key seen within the window, queues nothing and resolves with the first call's count.
   */
  async broadcast(msg: MessageContract, options?: PublishOptions): Promise<number> {
    const { channel, backend } = this;
    const { keys, taker, limits } = backend;
    const idempotency = this.idempotencyArgs(options);
    assertPayloadFits(msg, channel.maxPayloadBytes, `channel ${channel.id}`);
    const encoded = JSON.stringify(encodeMessage(msg));
    const piggyback = taker.piggyback(channel.id);
    let reply: unknown[];
    try {
      reply = (await redisCall(`broadcast on channel ${channel.id}`, () =>
        backend.scripts.run(
          'ericSseBroadcast',
          [keys.channels, keys.listeners(channel.id), piggyback.ledger],
          [
            channel.id,
            keys.queuePrefix(channel.id),
            encoded,
            keys.wake(channel.id),
            broadcastWake(backend.hub.origin),
            MAX_TAKEN_PER_QUEUE,
            piggyback.ids,
            boundArg(limits.maxQueueSize),
            limits.queueOverflow,
            ...idempotency,
          ],
        ),
      )) as unknown[];
    } catch (error) {
      taker.abandon(piggyback, error);
      throw error;
    }
    const [count, detail, index, ...texts] = reply as [number, number | string, string, ...string[]];
    const replayed = detail === REPLAYED;
    taker.complete(piggyback, count > 0 && !replayed, index, texts);
    if (replayed) {
      options?.onReplay?.();
      return count;
    }
    if (count === -1) throw noChannel(channel.id);
    if (count === -2) throw queuesFullException(channel.id, JSON.parse(detail as string) as string[]);
    if ((detail as number) > 0) logDropped(detail as number, `channel ${channel.id}`, limits.maxQueueSize);
    return count;
  }

  /** The script arguments for the options' idempotency key (see IDEMPOTENCY in redis-scripts): none without one. */
  private idempotencyArgs(options: PublishOptions | undefined): (string | number)[] {
    const key = idempotencyKeyOf(options);
    if (key === undefined) return [];
    const { keys, idempotency } = this.backend;
    const channelId = this.channel.id;
    return [
      key,
      keys.idempotencyPrefix(channelId),
      keys.idempotencyIndex(channelId),
      idempotency.windowMilliseconds,
      idempotency.maxKeys,
    ];
  }

  /** The attached connection, else the listener loaded from Redis and attached (as the class it was stored as). */
  resolve(listenerId: string): Promise<Connection> {
    if (this.channel.hasListener(listenerId)) return Promise.resolve(this.channel.getConnection(listenerId));
    let pending = this.resolving.get(listenerId);
    if (pending === undefined) {
      pending = this.load(listenerId).finally(() => this.resolving.delete(listenerId));
      this.resolving.set(listenerId, pending);
    }
    return pending;
  }

  async listListenerIds(): Promise<string[]> {
    const { channel, backend } = this;
    const { keys } = backend;
    const ids = await redisCall(`list the listeners of channel ${channel.id}`, () =>
      backend.scripts.run('ericSseListListeners', [keys.channels, keys.listeners(channel.id)], [channel.id]),
    );
    if (!Array.isArray(ids)) throw noChannel(channel.id);
    return ids as string[];
  }

  /** Forgets an attached listener here (it was removed): stops it, which ends its streams in this process. */
  async detach(listenerId: string): Promise<void> {
    if (!this.channel.hasListener(listenerId)) return;
    const { queue } = this.channel.getConnection(listenerId);
    await this.local.remove(listenerId);
    if (queue instanceof RedisQueue) queue.dispose();
  }

  /** Forgets every attached listener (the channel was removed). */
  async detachAll(): Promise<void> {
    for (const { listener } of this.channel.getConnections()) await this.detach(listener.id);
  }

  private async load(listenerId: string): Promise<Connection> {
    const { channel, backend } = this;
    const { keys } = backend;
    const stored = await redisCall(`load listener ${listenerId} of channel ${channel.id}`, () =>
      backend.scripts.run(
        'ericSseLoadListener',
        [keys.channels, keys.listenerTypes(channel.id)],
        [channel.id, listenerId],
      ),
    );
    if (stored === -1) throw noChannel(channel.id);
    if (stored === 0) throw noListener(listenerId, channel.id);
    const listener = backend.listenerRegistry.create(String(stored), listenerId);
    if (channel.hasListener(listenerId)) return channel.getConnection(listenerId); // registered here meanwhile
    const connection = backend.connectionsFactory.create(listener, channel.id);
    await this.local.register(connection);
    return connection;
  }
}

/** What the scripts answer in place of the dropped count when the idempotency key was seen: nothing was queued. */
const REPLAYED = -1;

function noChannel(channelId: string): InvalidChannelException {
  return new InvalidChannelException(`No channel with id ${channelId}`);
}

function noListener(listenerId: string, channelId: string): InvalidListenerException {
  return new InvalidListenerException(`No listener with id ${listenerId} in channel ${channelId}`);
}
