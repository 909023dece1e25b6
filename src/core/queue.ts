import { NoMessagesException, QueueFullException } from './errors.js';
import { resolveQueueLimits, type QueueLimits, type QueueOverflowPolicy } from './limits.js';
import { getEricLogger } from './logger.js';
import type { MessageContract } from './message.js';
import { RESOLVED } from './resolved.js';

/** A FIFO of messages for one listener. Storage-facing, so every operation is async. */
export interface Queue {
  push(msg: MessageContract): Promise<void>;
  /** Removes and returns the oldest message; rejects with `NoMessagesException` when empty. */
  pop(): Promise<MessageContract>;
  /**
   * Calls `callback` once, as soon as a message may be available (at once if one already is).
   * Returns a function that cancels it. This is how idle streams wait without polling.
   */
  onReady(callback: () => void): () => void;
  /**
   * Optional synchronous pop of the messages held in this process: the oldest one, or undefined when
   * none is held here. Streams use it to skip a promise per message, and wait with `onReady` when it
   * gives nothing. For an `InMemoryQueue` undefined means empty; a queue kept elsewhere (Redis) may hold
   * more there, which `pop` takes and `onReady` announces.
   */
  popNow?(): MessageContract | undefined;
  /**
   * Optional: true when a push now would be refused with `QueueFullException` (a bounded queue at its
   * maximum, overflow `reject`). Channels ask every queue before a broadcast queues anything.
   */
  refusesPush?(): boolean;
}

export interface InMemoryQueueOptions extends QueueLimits {
  /** Whose queue it is, for errors and debug logs: `listener <id> of channel <id>`. Default `a listener`. */
  label?: string;
}

const NOOP = (): void => {};

/**
 * The default queue: an in-process FIFO with O(1) push and pop. Unbounded unless given `maxSize`; a full
 * queue then drops its oldest message (`overflow: 'drop-oldest'`, the default, counted in `dropped`) or
 * refuses the new one (`'reject'`: `push` rejects with `QueueFullException`).
 */
export class InMemoryQueue implements Queue {
  /** Most messages held; `Infinity` when unbounded. */
  readonly maxSize: number;
  readonly overflow: QueueOverflowPolicy;
  /** How many messages `drop-oldest` discarded. */
  dropped = 0;
  private readonly label: string;
  private items: MessageContract[] = [];
  private head = 0;
  // One waiter is the normal case (one stream per listener): a field, not a Set, keeps a wait cheap.
  private readyCallback: (() => void) | undefined;
  private moreReadyCallbacks: Set<() => void> | undefined;

  /** `messages` are queued in order, as pushes are: past `maxSize`, the policy applies to them too. */
  constructor(messages: Iterable<MessageContract> = [], options: InMemoryQueueOptions = {}) {
    const { maxSize, overflow } = resolveQueueLimits(options);
    this.maxSize = maxSize;
    this.overflow = overflow;
    this.label = options.label ?? 'a listener';
    for (const msg of messages) {
      if (this.size >= maxSize) {
        if (overflow === 'reject') throw this.full();
        this.dropOldest();
      }
      this.items.push(msg);
    }
  }

  get size(): number {
    return this.items.length - this.head;
  }

  push(msg: MessageContract): Promise<void> {
    if (this.items.length - this.head >= this.maxSize) {
      if (this.overflow === 'reject') return Promise.reject(this.full());
      this.dropOldest();
    }
    this.items.push(msg);
    const callback = this.readyCallback;
    if (callback !== undefined) {
      this.readyCallback = undefined;
      callback();
    }
    const more = this.moreReadyCallbacks;
    if (more !== undefined) {
      this.moreReadyCallbacks = undefined;
      for (const other of more) other();
    }
    return RESOLVED;
  }

  pop(): Promise<MessageContract> {
    const msg = this.popNow();
    return msg === undefined ? Promise.reject(new NoMessagesException('Queue is empty')) : Promise.resolve(msg);
  }

  popNow(): MessageContract | undefined {
    if (this.head >= this.items.length) return undefined;
    const msg = this.items[this.head];
    this.items[this.head++] = undefined as unknown as MessageContract;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return msg;
  }

  refusesPush(): boolean {
    return this.overflow === 'reject' && this.items.length - this.head >= this.maxSize;
  }

  private dropOldest(): void {
    const dropped = this.popNow() as MessageContract;
    this.dropped++;
    getEricLogger().debug(
      `Queue of ${this.label} is full (maxSize ${this.maxSize}): dropped its oldest message '${dropped.type}' (${this.dropped} dropped so far)`,
    );
  }

  private full(): QueueFullException {
    return new QueueFullException(`Queue of ${this.label} is full (maxSize ${this.maxSize}, overflow 'reject')`);
  }

  /** The pending messages, oldest first, without removing them. */
  peekAll(): MessageContract[] {
    return this.items.slice(this.head);
  }

  onReady(callback: () => void): () => void {
    if (this.size > 0) {
      callback();
      return NOOP;
    }
    if (this.readyCallback === undefined || this.readyCallback === callback) {
      this.readyCallback = callback;
      return () => {
        if (this.readyCallback === callback) this.readyCallback = undefined;
      };
    }
    const more = (this.moreReadyCallbacks ??= new Set());
    more.add(callback);
    return () => more.delete(callback);
  }
}

/**
 * Pops the oldest message of any queue, or undefined when it is empty: `popNow` when it has one (or,
 * for an `InMemoryQueue`, always), else `pop`.
 */
export async function popAny(queue: Queue): Promise<MessageContract | undefined> {
  if (queue instanceof InMemoryQueue) return queue.popNow();
  return queue.popNow?.() ?? popOrUndefined(queue);
}

/** Pops the oldest message of any queue, or undefined when it is empty. */
export async function popOrUndefined(queue: Queue): Promise<MessageContract | undefined> {
  try {
    return await queue.pop();
  } catch (error) {
    if (error instanceof NoMessagesException) return undefined;
    throw error;
  }
}
