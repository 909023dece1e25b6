import { NoMessagesException, QueueFullException } from '../core/errors.js';
import { getEricLogger } from '../core/logger.js';
import type { MessageContract } from '../core/message.js';
import type { Queue } from '../core/queue.js';
import { decodeMessage, encodeMessage } from '../persistence/message-codec.js';
import type { RedisBackend } from './redis-backend.js';
import { isReplyError, outcomeUnknown, redisCall, repositoryError } from './redis-errors.js';
import { boundArg, logDropped } from './redis-limits.js';
import { listenerWake, type WakeTarget } from './redis-wake-hub.js';

const NOOP = (): void => {};

/**
 * One listener's queue, a Redis list (`<p>queue:<channel>:<listener>`) shared by every process.
 *
 * Each message goes to one consumer, once, whichever process it runs in: messages leave the list only
 * atomically (`LPOP` in a script). A stream that waits (`onReady`) has this process take the listener's
 * messages (at most 32) in one script shared with every other stream waiting in the same tick, then reads
 * them with `popNow`; what it does not read in that turn of the event loop goes back to the head of the
 * list. Waiting costs nothing: the process's pub/sub connection announces new messages (`notify`), and a
 * take that found the list empty is not repeated until one is announced.
 *
 * While Redis is unreachable, `push` rejects with `RepositoryError`; `pop` rejects with
 * `NoMessagesException` (nothing was taken) and waiting streams are served once Redis is back, so they
 * pause and resume by themselves. A stored message that cannot be decoded is dropped with a logged error.
 * `length` and `peekAll` see the list in Redis, not what a waiting stream holds for the current turn.
 */
export class RedisQueue implements Queue, WakeTarget {
  readonly key: string;
  private readonly wakeChannel: string;
  private readonly wakeMessage: string;
  /** Messages taken for a waiting stream, oldest first, with their stored texts (to give them back). */
  private held: MessageContract[] = [];
  private heldTexts: string[] = [];
  private callback: (() => void) | undefined;
  private moreCallbacks: Set<() => void> | undefined;
  /** Bumped by every notification that may concern this queue. */
  private epoch = 0;
  /** `epoch` when a take or pop found the list empty (so nothing is taken again until a notification). */
  private emptyEpoch: number | undefined;
  private taking = false;
  /**
   * Takes and give-backs whose outcome is unknown (Redis did not answer): nothing is taken meanwhile, so
   * that what they are given back goes out before anything newer.
   */
  private unresolved = 0;
  private registered = false;
  private disposed = false;

  constructor(
    readonly backend: RedisBackend,
    readonly channelId: string,
    readonly listenerId: string,
  ) {
    this.key = backend.keys.queue(channelId, listenerId);
    this.wakeChannel = backend.keys.wake(channelId);
    this.wakeMessage = listenerWake(backend.hub.origin, listenerId);
  }

  /**
   * Appends a message (no membership check: channels dispatch through their own script), within the
   * backend's `limits.maxQueueSize`: a full queue drops its oldest, or refuses with `QueueFullException`.
   */
  async push(msg: MessageContract): Promise<void> {
    const encoded = JSON.stringify(encodeMessage(msg));
    const { maxQueueSize, queueOverflow } = this.backend.limits;
    const dropped = await redisCall(`queue a message for listener ${this.listenerId}`, () =>
      this.backend.scripts.run(
        'ericSsePush',
        [this.key],
        [encoded, this.wakeChannel, this.wakeMessage, boundArg(maxQueueSize), queueOverflow],
      ),
    );
    if (dropped === -1) {
      throw new QueueFullException(
        `Queue of listener ${this.listenerId} of channel ${this.channelId} is full (maxQueueSize ${maxQueueSize}, overflow 'reject')`,
        [this.listenerId],
      );
    }
    if (typeof dropped === 'number' && dropped > 0) logDropped(dropped, `listener ${this.listenerId}`, maxQueueSize);
    this.backend.hub.notifyLocal(this.channelId, this.listenerId);
  }

  /** The oldest message taken for a waiting stream, or undefined when none is held here (see `onReady`). */
  popNow(): MessageContract | undefined {
    if (this.held.length === 0) return undefined;
    this.heldTexts.shift();
    return this.held.shift();
  }

  /** The oldest message: one held here, else one taken from Redis. */
  async pop(): Promise<MessageContract> {
    const held = this.popNow();
    if (held !== undefined) return held;
    this.register();
    if (this.emptyEpoch === this.epoch) throw this.empty();
    const epoch = this.epoch;
    let text: string | null;
    try {
      const [popped, left] = (await this.backend.scripts.run('ericSsePop', [this.key], [])) as [string | null, number];
      text = popped;
      this.emptyEpoch = left === 0 ? epoch : undefined;
    } catch (error) {
      if (isReplyError(error)) throw repositoryError(`pop a message of listener ${this.listenerId}`, error);
      throw new NoMessagesException(`Redis is unavailable: no message of listener ${this.listenerId} can be taken now`);
    }
    if (text === null) throw this.empty();
    return this.decode(text, true);
  }

  onReady(callback: () => void): () => void {
    if (this.held.length > 0) {
      callback();
      return NOOP;
    }
    this.register();
    if (this.callback === undefined || this.callback === callback) this.callback = callback;
    else (this.moreCallbacks ??= new Set()).add(callback);
    this.take();
    return () => {
      if (this.callback === callback) this.callback = undefined;
      else this.moreCallbacks?.delete(callback);
    };
  }

  /** How many messages wait in Redis. */
  length(): Promise<number> {
    return redisCall(`count the messages of listener ${this.listenerId}`, () => this.backend.client.llen(this.key));
  }

  /** The messages waiting in Redis, oldest first, without removing them. */
  async peekAll(): Promise<MessageContract[]> {
    const texts = await redisCall(`read the messages of listener ${this.listenerId}`, () =>
      this.backend.client.lrange(this.key, 0, -1),
    );
    return texts.map((text) => decodeMessage(JSON.parse(text)));
  }

  /** @internal Called by the hub: a message may have arrived (or may have been missed). */
  notify(): void {
    this.epoch++;
    if (this.hasCallbacks()) this.take();
  }

  /** Stops hearing about this queue (its listener was removed or detached); what it held is dropped with it. */
  dispose(): void {
    this.disposed = true;
    this.held = [];
    this.heldTexts = [];
    if (!this.registered) return;
    this.registered = false;
    this.backend.hub.unregister(this);
  }

  /**
   * @internal A dispatch or broadcast script is about to take for this queue: when a stream waits on it
   * and no take is in flight, marks it taking and returns the epoch; else undefined.
   */
  beginTake(): number | undefined {
    if (this.taking || this.disposed || this.unresolved > 0 || !this.hasCallbacks()) return undefined;
    this.taking = true;
    return this.epoch;
  }

  /** @internal The epoch a take sent now is sent at. */
  get epochNow(): number {
    return this.epoch;
  }

  /** @internal What a take sent at `epoch` got. */
  taken(texts: string[], left: number, epoch: number): void {
    this.taking = false;
    if (this.disposed) return;
    for (const text of texts) {
      const msg = this.decode(text, false);
      if (msg === undefined) continue;
      this.held.push(msg);
      this.heldTexts.push(text);
    }
    this.emptyEpoch = left === 0 ? epoch : undefined;
    if (this.held.length > 0) this.fire();
    else if (epoch !== this.epoch && this.hasCallbacks()) this.take(); // announced meanwhile
  }

  /** @internal A take failed: the hub notifies this queue once Redis is back. */
  takeFailed(): void {
    this.taking = false;
  }

  /** @internal A take or give-back for this queue has an unknown outcome: take nothing until it is resolved. */
  holdTakes(): void {
    this.taking = false;
    this.unresolved++;
  }

  /** @internal One of those was resolved (what it took is back in the list, or it took nothing). */
  releaseTakes(): void {
    this.unresolved--;
    if (this.unresolved === 0) this.notify();
  }

  /** @internal End of the turn a take was for: what no stream read goes back to the head of the list. */
  returnUntaken(): void {
    if (this.held.length === 0 || this.disposed) return;
    const texts = this.heldTexts;
    const held = this.held;
    this.held = [];
    this.heldTexts = [];
    const { keys, scripts, hub, taker } = this.backend;
    const marker = taker.nextLedgerKey();
    const giveBack = (): Promise<unknown> =>
      scripts.run(
        'ericSseGiveBack',
        [keys.channels, keys.listeners(this.channelId), this.key, marker],
        [this.channelId, this.listenerId, this.wakeChannel, this.wakeMessage, ...texts],
      );
    giveBack()
      .then(() => hub.notifyLocal(this.channelId, this.listenerId))
      .catch((error: unknown) => {
        getEricLogger().debug(`Giving messages of listener ${this.listenerId} back to Redis failed: ${String(error)}`);
        if (!outcomeUnknown(error)) {
          // Not given back: keep them here, ahead of anything taken since, for the next stream to read.
          this.held = [...held, ...this.held];
          this.heldTexts = [...texts, ...this.heldTexts];
          return;
        }
        // Maybe given back: send it again until Redis answers (it runs once), taking nothing meanwhile.
        this.holdTakes();
        taker.retryUntilAnswered(giveBack, () => this.releaseTakes());
      });
  }

  private take(): void {
    if (this.taking || this.disposed || this.unresolved > 0 || this.emptyEpoch === this.epoch) return;
    this.taking = true;
    this.backend.taker.request(this);
  }

  private register(): void {
    if (this.registered || this.disposed) return;
    this.registered = true;
    this.backend.hub.register(this);
  }

  private hasCallbacks(): boolean {
    return this.callback !== undefined || (this.moreCallbacks !== undefined && this.moreCallbacks.size > 0);
  }

  private fire(): void {
    const callback = this.callback;
    const more = this.moreCallbacks;
    this.callback = undefined;
    this.moreCallbacks = undefined;
    callback?.();
    if (more !== undefined) for (const other of more) other();
  }

  private empty(): NoMessagesException {
    return new NoMessagesException(`No messages for listener ${this.listenerId}`);
  }

  /** The message a stored text holds; a malformed one is dropped with a logged error (and thrown when asked). */
  private decode(text: string, rethrow: true): MessageContract;
  private decode(text: string, rethrow: false): MessageContract | undefined;
  private decode(text: string, rethrow: boolean): MessageContract | undefined {
    try {
      return this.backend.decoder.decode(text);
    } catch (error) {
      const failure = repositoryError(`decode a message of listener ${this.listenerId} (dropped)`, error);
      getEricLogger().error(failure.message, error);
      if (rethrow) throw failure;
      return undefined;
    }
  }
}
