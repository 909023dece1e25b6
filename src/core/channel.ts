import { randomUUID } from 'node:crypto';
import { Connection, InMemoryConnectionsFactory, type ConnectionsFactory } from './connection.js';
import { InvalidListenerException, NoMessagesException, TooManyListenersException } from './errors.js';
import {
  IdempotencyKeys,
  idempotencyKeyOf,
  resolveIdempotencyOptions,
  type IdempotencyOptions,
  type PublishOptions,
  type ResolvedIdempotencyOptions,
} from './idempotency.js';
import { assertPayloadFits, resolveBound, type ChannelLimits } from './limits.js';
import { MessageQueueListener } from './listener.js';
import { Message, type MessageContract } from './message.js';
import { ownedStream } from './owned-stream.js';
import { InMemoryQueue, popAny, popOrUndefined, type Queue } from './queue.js';
import { queuesFullException } from './queue-full.js';
import { RESOLVED } from './resolved.js';
import { assertNonEmptyString, assertNonNegativeNumber } from './validate.js';

export interface ChannelOptions extends ChannelLimits {
  /** Minimum spacing between two deliveries of one stream, in seconds (a rate limit). Default 0. */
  streamDelaySeconds?: number;
  /** Default: a fresh UUID. */
  channelId?: string;
  /** Default: `InMemoryConnectionsFactory`. */
  connectionsFactory?: ConnectionsFactory;
  /** How long, and how many, idempotency keys the channel remembers (see `PublishOptions`). */
  idempotency?: IdempotencyOptions;
}

/** Settings that describe a channel, as stored by a channel repository. */
export interface ChannelData {
  channelId: string;
  streamDelaySeconds: number;
  [setting: string]: unknown;
}

/**
 * A set of listeners, each with its own queue. Subclasses decide, through `adapt`, the shape that
 * streams yield.
 */
export abstract class AbstractChannel<Adapted = unknown> {
  readonly id: string;
  readonly streamDelaySeconds: number;
  readonly connectionsFactory: ConnectionsFactory;
  /** Most listeners the channel holds (`TooManyListenersException` past it); `Infinity`: no bound. */
  readonly maxListeners: number;
  /** Largest payload dispatch and broadcast take, JSON-encoded (`MessageTooLargeException`); `Infinity`: no bound. */
  readonly maxPayloadBytes: number;
  readonly idempotency: ResolvedIdempotencyOptions;
  private readonly connections = new Map<string, Connection>();
  /** Made on the first call with an idempotency key. */
  private idempotencyKeys: IdempotencyKeys | undefined;
  /** Connections whose queue may refuse a push (see `mayRefuse`): a broadcast asks them all first. */
  private mayRefuseCount = 0;

  constructor(options: ChannelOptions = {}) {
    this.streamDelaySeconds = assertNonNegativeNumber(options.streamDelaySeconds ?? 0, 'streamDelaySeconds');
    this.id = options.channelId === undefined ? randomUUID() : assertNonEmptyString(options.channelId, 'channelId');
    this.connectionsFactory = options.connectionsFactory ?? new InMemoryConnectionsFactory();
    this.maxListeners = resolveBound(options.maxListeners, 'maxListeners');
    this.maxPayloadBytes = resolveBound(options.maxPayloadBytes, 'maxPayloadBytes');
    this.idempotency = resolveIdempotencyOptions(options.idempotency);
  }

  /** Shapes a delivered message into what streams yield. */
  abstract adapt(msg: MessageContract): Adapted;

  /** The settings a repository needs to re-create this channel. */
  toData(): ChannelData {
    return { channelId: this.id, streamDelaySeconds: this.streamDelaySeconds };
  }

  /** Creates a connection for a new listener and returns the listener. */
  async addListener(): Promise<MessageQueueListener> {
    const connection = this.connectionsFactory.create(undefined, this.id);
    await this.registerConnection(connection);
    return connection.listener;
  }

  /** Creates a connection for an existing listener. */
  async registerListener(listener: MessageQueueListener): Promise<void> {
    await this.registerConnection(this.connectionsFactory.create(listener, this.id));
  }

  /**
   * Rejects a listener id already registered (replacing its connection would drop its queued messages),
   * and a listener past `maxListeners` with `TooManyListenersException`.
   */
  async registerConnection(connection: Connection): Promise<void> {
    if (this.connections.size >= this.maxListeners && !this.connections.has(connection.listener.id)) {
      throw new TooManyListenersException(
        `Cannot add a listener to channel ${this.id}: maxListeners (${this.maxListeners}) reached`,
      );
    }
    this.attachConnection(connection);
  }

  /**
   * `registerConnection` without the `maxListeners` check, for a channel that keeps its listeners (and
   * counts them) elsewhere: Redis channels attach here the listeners Redis accepted.
   */
  protected attachConnection(connection: Connection): void {
    const listenerId = connection.listener.id;
    if (this.connections.has(listenerId)) {
      throw new InvalidListenerException(`Listener ${listenerId} is already registered in channel ${this.id}`);
    }
    this.connections.set(listenerId, connection);
    if (mayRefuse(connection.queue)) this.mayRefuseCount++;
  }

  /** Removes a listener and its queue. The listener is stopped, which ends its streams. */
  async removeListener(listenerId: string): Promise<void> {
    const connection = this.getConnection(listenerId);
    this.connections.delete(listenerId);
    if (mayRefuse(connection.queue)) this.mayRefuseCount--;
    connection.listener.stop();
  }

  getListener(listenerId: string): MessageQueueListener {
    return this.getConnection(listenerId).listener;
  }

  hasListener(listenerId: string): boolean {
    return this.connections.has(listenerId);
  }

  /** Connections in registration order. */
  getConnections(): Connection[] {
    return [...this.connections.values()];
  }

  getConnection(listenerId: string): Connection {
    const connection = this.connections.get(listenerId);
    if (connection === undefined) {
      throw new InvalidListenerException(`No listener with id ${listenerId} in channel ${this.id}`);
    }
    return connection;
  }

  /**
   * The listener's connection, wherever it was registered. Here: `getConnection`. A channel shared
   * between processes (Redis) also finds listeners another process registered, and attaches them here.
   * Unknown → `InvalidListenerException`.
   */
  resolveConnection(listenerId: string): Promise<Connection> {
    const connection = this.connections.get(listenerId);
    if (connection === undefined) {
      return Promise.reject(new InvalidListenerException(`No listener with id ${listenerId} in channel ${this.id}`));
    }
    return Promise.resolve(connection);
  }

  /** Ids of every listener, in registration order; a shared channel also lists those of other processes. */
  listListenerIds(): Promise<string[]> {
    return Promise.resolve([...this.connections.keys()]);
  }

  /**
   * Queues a message for one listener. A payload over `maxPayloadBytes` is a `MessageTooLargeException`;
   * a full queue that refuses it (overflow `reject`) a `QueueFullException` naming the listener. With
   * `options.idempotencyKey`, a repeat within the channel's idempotency window queues nothing and
   * answers as the first call did.
   */
  dispatch(listenerId: string, msg: MessageContract, options?: PublishOptions): Promise<void> {
    try {
      if (options === undefined) return this.enqueueFor(listenerId, msg);
      return this.idempotently(options, () => this.enqueueFor(listenerId, msg).then(ONE)).then(NOTHING);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Queues a message for every listener, or for none: when a queue refuses it (full, overflow `reject`),
   * nothing is queued and the `QueueFullException` names every such listener. A payload over
   * `maxPayloadBytes` is a `MessageTooLargeException`. With `options.idempotencyKey`, a repeat within
   * the channel's idempotency window queues nothing and answers as the first call did.
   */
  broadcast(msg: MessageContract, options?: PublishOptions): Promise<void> {
    try {
      if (options === undefined) return this.enqueueForAll(msg);
      return this.broadcastAndCount(msg, options).then(NOTHING);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * `broadcast`, resolving with how many listeners the message was queued for (a repeated idempotency
   * key: the count of the first call).
   */
  broadcastAndCount(msg: MessageContract, options?: PublishOptions): Promise<number> {
    if (options === undefined) {
      const count = this.connections.size;
      return this.broadcast(msg).then(() => count);
    }
    try {
      return this.idempotently(options, () => {
        const count = this.connections.size;
        return this.enqueueForAll(msg).then(() => count);
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Runs `publish` unless the options' key was seen within the window, in which case the first call's
   * answer is given back. `publish` throws, rather than rejects, when it refuses (nothing queued), so
   * that the key is recorded in the same turn as the enqueue, and only for a call that queued.
   */
  private idempotently(options: PublishOptions, publish: () => Promise<number>): Promise<number> {
    const key = idempotencyKeyOf(options);
    if (key === undefined) return publish();
    const keys = (this.idempotencyKeys ??= new IdempotencyKeys(this.idempotency));
    const first = keys.answerOf(key);
    if (first !== undefined) {
      options.onReplay?.();
      return first;
    }
    const answer = publish();
    keys.record(key, answer);
    return answer;
  }

  /** Checks, then queues for one listener; throws when it refuses. */
  private enqueueFor(listenerId: string, msg: MessageContract): Promise<void> {
    const connection = this.connections.get(listenerId);
    if (connection === undefined) {
      throw new InvalidListenerException(`No listener with id ${listenerId} in channel ${this.id}`);
    }
    assertPayloadFits(msg, this.maxPayloadBytes, `channel ${this.id}`);
    if (connection.queue.refusesPush?.() === true) throw queuesFullException(this.id, [listenerId]);
    return connection.queue.push(msg);
  }

  /** Checks, then queues for every listener; throws when it refuses. */
  private enqueueForAll(msg: MessageContract): Promise<void> {
    // Unbounded channels whose queues never refuse (the default) skip the checks altogether.
    if (this.maxPayloadBytes !== Infinity || this.mayRefuseCount > 0) {
      const refusal = this.broadcastRefusal(msg);
      if (refusal !== undefined) throw refusal;
    }
    let pending: Promise<void>[] | undefined;
    for (const connection of this.connections.values()) {
      const pushed = connection.queue.push(msg);
      if (pushed !== RESOLVED) (pending ??= []).push(pushed);
    }
    return pending === undefined ? RESOLVED : Promise.all(pending).then(NOTHING);
  }

  /** Why a broadcast of `msg` is refused, checked before anything is queued; undefined when it is not. */
  private broadcastRefusal(msg: MessageContract): Error | undefined {
    try {
      assertPayloadFits(msg, this.maxPayloadBytes, `channel ${this.id}`);
    } catch (error) {
      return error as Error;
    }
    if (this.mayRefuseCount === 0) return undefined;
    let full: string[] | undefined;
    for (const { listener, queue } of this.connections.values()) {
      if (queue.refusesPush !== undefined && queue.refusesPush()) (full ??= []).push(listener.id);
    }
    return full === undefined ? undefined : queuesFullException(this.id, full);
  }

  /**
   * If the listener is running, pops its next message, hands it to `listener.onMessage` and returns it.
   * Rejects with `NoMessagesException` when the queue is empty or the listener is stopped.
   */
  async deliverNext(listenerId: string): Promise<MessageContract> {
    const { listener, queue } = this.getConnection(listenerId);
    if (!listener.isRunning()) throw new NoMessagesException(`Listener ${listenerId} is not running`);
    const msg = await popAny(queue);
    if (msg === undefined) throw new NoMessagesException(`No messages for listener ${listenerId}`);
    await listener.onMessage(msg);
    return msg;
  }

  /**
   * Streams `adapt(msg)` for each message delivered to the listener, for as long as it runs.
   * Waiting on an empty queue costs nothing: the stream wakes on the next message or on stop.
   */
  messageStream(listener: MessageQueueListener | string): AsyncGenerator<Adapted, void, undefined> {
    // A plain method returning the loop itself: one async generator per message, not two.
    const listenerId = typeof listener === 'string' ? listener : listener.id;
    const connection = this.connections.get(listenerId);
    if (connection === undefined) {
      return this.errorStream(`InvalidListenerException: no listener with id ${listenerId} in channel ${this.id}`);
    }
    return this.streamConnection(connection, false);
  }

  /**
   * Adds a listener and starts it now, then returns its stream: what is sent to the channel from the
   * moment this resolves is in the stream, read or not. The listener is removed when the stream ends,
   * is returned (`break`, `return()`), or is thrown into, even before its first read.
   */
  async watch(): Promise<AsyncGenerator<Adapted, void, undefined>> {
    const listener = await this.addListener();
    listener.start();
    const stream = this.streamConnection(this.getConnection(listener.id), true);
    return ownedStream(stream, () => this.removeIfPresent(listener.id));
  }

  private async removeIfPresent(listenerId: string): Promise<void> {
    if (this.hasListener(listenerId)) await this.removeListener(listenerId);
  }

  private async *errorStream(text: string): AsyncGenerator<Adapted, void, undefined> {
    yield this.adapt(new Message('error', text));
  }

  private async *streamConnection(
    connection: Connection,
    removeWhenDone: boolean,
  ): AsyncGenerator<Adapted, void, undefined> {
    const { listener, queue } = connection;
    const delayMs = this.streamDelaySeconds * 1000;
    // One wake-up function per stream, shared by queue readiness, stop and the delay timer, so that a
    // wait allocates only its promise.
    let resolveWait: (() => void) | undefined;
    const wake = (): void => {
      const resolve = resolveWait;
      resolveWait = undefined;
      resolve?.();
    };
    const cancelStop = listener.onStop(wake);
    try {
      while (listener.isRunning()) {
        let msg: MessageContract | undefined;
        if (queue.popNow !== undefined) {
          msg = queue.popNow();
        } else {
          msg = await popOrUndefined(queue);
          if (!listener.isRunning()) {
            // Stopped while the pop was in flight: give the message back rather than lose it.
            if (msg !== undefined) await queue.push(msg);
            return;
          }
        }
        if (msg === undefined) {
          const waiting = new Promise<void>((resolve) => (resolveWait = resolve));
          const cancelReady = queue.onReady(wake);
          await waiting;
          cancelReady();
          continue;
        }
        const handled = listener.onMessage(msg);
        if (handled !== undefined) await handled;
        yield this.adapt(msg);
        if (delayMs > 0 && listener.isRunning()) {
          const waiting = new Promise<void>((resolve) => (resolveWait = resolve));
          const timer = setTimeout(wake, delayMs);
          await waiting;
          clearTimeout(timer);
        }
      }
    } finally {
      cancelStop();
      // A watch listener belongs to this one stream: when the consumer leaves, nothing else can use it.
      if (removeWhenDone) await this.removeIfPresent(listener.id);
    }
  }
}

const ONE = (): number => 1;
const NOTHING = (): undefined => undefined;

/** Whether a queue may refuse a push: one that can say so (`refusesPush`), unless it is known never to. */
function mayRefuse(queue: Queue): boolean {
  if (queue.refusesPush === undefined) return false;
  return !(queue instanceof InMemoryQueue) || (queue.overflow === 'reject' && queue.maxSize !== Infinity);
}
