import { NoMessagesException } from '../core/errors.js';
import { getEricLogger } from '../core/logger.js';
import type { MessageContract } from '../core/message.js';
import type { Queue } from '../core/queue.js';
import { decodeMessage, encodeMessage } from '../persistence/message-codec.js';
import type { RedisBackend } from './redis-backend.js';
import { isReplyError, redisCall, repositoryError } from './redis-errors.js';
import type { WakeTarget } from './redis-wake-hub.js';

const NOOP = (): void => {};

/**
 * One listener's queue, a Redis list (`<p>queue:<channel>:<listener>`) shared by every process.
 *
 * `pop` is `LPOP`, atomic: when several streams (in one process or several) read one listener, each
 * message goes to exactly one of them. `onReady` waits without polling: the callback is registered with
 * the process's pub/sub hub first, then the list is checked, so a message pushed in between is never
 * missed. After a `pop`, that check is skipped unless a notification for this queue arrived since the
 * pop was sent (the pop itself saw the list then).
 *
 * While Redis is unreachable, `push` rejects with `RepositoryError`; `pop` rejects with
 * `NoMessagesException` (nothing was taken) and `onReady` calls back once Redis is back, so streams
 * pause and resume by themselves. A stored message that cannot be decoded is dropped with a logged error
 * and the pop rejects with `RepositoryError`.
 */
export class RedisQueue implements Queue, WakeTarget {
  readonly key: string;
  private readonly wakeChannel: string;
  private readonly wakeMessage: string;
  private callback: (() => void) | undefined;
  private moreCallbacks: Set<() => void> | undefined;
  /** Bumped by every notification that may concern this queue. */
  private epoch = 0;
  /** `epoch` when the last pop was sent; undefined before the first pop. */
  private popEpoch: number | undefined;
  private registered = false;

  constructor(
    readonly backend: RedisBackend,
    readonly channelId: string,
    readonly listenerId: string,
  ) {
    this.key = backend.keys.queue(channelId, listenerId);
    this.wakeChannel = backend.keys.wake(channelId);
    this.wakeMessage = `d:${listenerId}`;
  }

  /** Appends a message (no membership check: channels dispatch through their own script). */
  async push(msg: MessageContract): Promise<void> {
    const encoded = JSON.stringify(encodeMessage(msg));
    await redisCall(`queue a message for listener ${this.listenerId}`, () =>
      this.backend.scripts.run('ericSsePush', [this.key], [encoded, this.wakeChannel, this.wakeMessage]),
    );
  }

  async pop(): Promise<MessageContract> {
    this.register();
    this.popEpoch = this.epoch;
    let text: string | null;
    try {
      text = await this.backend.client.lpop(this.key);
    } catch (error) {
      if (isReplyError(error)) throw repositoryError(`pop a message of listener ${this.listenerId}`, error);
      this.popEpoch = undefined; // the pop saw nothing: onReady must look again
      throw new NoMessagesException(`Redis is unavailable: no message of listener ${this.listenerId} can be taken now`);
    }
    if (text === null) throw new NoMessagesException(`No messages for listener ${this.listenerId}`);
    try {
      return decodeMessage(JSON.parse(text));
    } catch (error) {
      const failure = repositoryError(`decode a message of listener ${this.listenerId} (dropped)`, error);
      getEricLogger().error(failure.message, error);
      throw failure;
    }
  }

  onReady(callback: () => void): () => void {
    this.register();
    if (this.popEpoch !== undefined && this.popEpoch !== this.epoch) {
      this.popEpoch = undefined; // woken once for that notification; a later wait looks at the list
      callback();
      return NOOP;
    }
    if (this.callback === undefined || this.callback === callback) this.callback = callback;
    else (this.moreCallbacks ??= new Set()).add(callback);
    // Without a pop since the last notification, nothing says whether the list is empty: look.
    // Not listening yet: the subscription's acknowledgement notifies this queue instead.
    if (this.popEpoch === undefined && this.backend.hub.isListening(this.channelId)) this.checkLength();
    return () => {
      if (this.callback === callback) this.callback = undefined;
      else this.moreCallbacks?.delete(callback);
    };
  }

  /** How many messages wait. */
  length(): Promise<number> {
    return redisCall(`count the messages of listener ${this.listenerId}`, () => this.backend.client.llen(this.key));
  }

  /** The pending messages, oldest first, without removing them. */
  async peekAll(): Promise<MessageContract[]> {
    const texts = await redisCall(`read the messages of listener ${this.listenerId}`, () =>
      this.backend.client.lrange(this.key, 0, -1),
    );
    return texts.map((text) => decodeMessage(JSON.parse(text)));
  }

  /** @internal Called by the hub: a message may be waiting. */
  notify(): void {
    this.epoch++;
    this.fire();
  }

  /** Stops hearing about this queue (its listener was removed or detached). Waiting callbacks are kept. */
  dispose(): void {
    if (!this.registered) return;
    this.registered = false;
    this.backend.hub.unregister(this);
  }

  private register(): void {
    if (this.registered) return;
    this.registered = true;
    this.backend.hub.register(this);
  }

  private checkLength(): void {
    const epoch = this.epoch;
    this.backend.client.llen(this.key).then(
      (length) => {
        if (length > 0 && epoch === this.epoch) this.fire();
      },
      // Unreachable: the hub notifies every queue once the connection is back.
      () => undefined,
    );
  }

  private fire(): void {
    const callback = this.callback;
    const more = this.moreCallbacks;
    this.callback = undefined;
    this.moreCallbacks = undefined;
    callback?.();
    if (more !== undefined) for (const other of more) other();
  }
}
