import {
  AbstractChannel,
  InMemoryQueue,
  MessageQueueListener,
  NoMessagesException,
  type MessageContract,
  type Queue,
} from '../../src/index.js';

export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The smallest concrete channel: streams yield `type:payload` strings. */
export class TextChannel extends AbstractChannel<string> {
  adapt(msg: MessageContract): string {
    return msg.payload === undefined ? msg.type : `${msg.type}:${JSON.stringify(msg.payload)}`;
  }
}

/** Records every message handed to `onMessage`; stops itself on a message of type `bye`. */
export class RecordingListener extends MessageQueueListener {
  readonly received: MessageContract[] = [];

  override onMessage(msg: MessageContract): void {
    this.received.push(msg);
    if (msg.type === 'bye') this.stop();
  }
}

/** Counts the stop callbacks registered and not yet cancelled or fired. */
export class StopCallbackCountingListener extends MessageQueueListener {
  live = 0;

  override onStop(callback: () => void): () => void {
    this.live++;
    let counted = true;
    const uncount = (): void => {
      if (counted) this.live--;
      counted = false;
    };
    const cancel = super.onStop(() => {
      uncount();
      callback();
    });
    return () => {
      uncount();
      cancel();
    };
  }
}

/** An in-memory queue that counts the ready callbacks registered and not yet cancelled or fired. */
export class ReadyCallbackCountingQueue extends InMemoryQueue {
  live = 0;

  override onReady(callback: () => void): () => void {
    this.live++;
    let counted = true;
    const uncount = (): void => {
      if (counted) this.live--;
      counted = false;
    };
    const cancel = super.onReady(() => {
      uncount();
      callback();
    });
    return () => {
      uncount();
      cancel();
    };
  }
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * A queue with only the async part of the contract (no `popNow`), like a remote store. When `holdPops`
 * is set, each `pop()` waits until the test calls `releasePop()`, so a test can act while a pop is in flight.
 */
export class AsyncOnlyQueue implements Queue {
  readonly items: MessageContract[] = [];
  holdPops = false;
  popCalls = 0;
  private readonly ready = new Set<() => void>();
  private held: Deferred<void> | undefined;

  async push(msg: MessageContract): Promise<void> {
    this.items.push(msg);
    const callbacks = [...this.ready];
    this.ready.clear();
    for (const callback of callbacks) callback();
  }

  async pop(): Promise<MessageContract> {
    this.popCalls++;
    if (this.holdPops) {
      this.held = deferred<void>();
      await this.held.promise;
    }
    const msg = this.items.shift();
    if (msg === undefined) throw new NoMessagesException('empty');
    return msg;
  }

  /** Lets the pop in flight complete. */
  releasePop(): void {
    const held = this.held;
    if (held === undefined) throw new Error('no pop in flight');
    this.held = undefined;
    held.resolve();
  }

  get popInFlight(): boolean {
    return this.held !== undefined;
  }

  onReady(callback: () => void): () => void {
    if (this.items.length > 0) {
      callback();
      return () => {};
    }
    this.ready.add(callback);
    return () => this.ready.delete(callback);
  }
}

/** Resolves after pending promise callbacks and I/O have run once: lets a test see what is still pending. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Tracks whether a promise has settled, for asserting that a stream is still waiting. */
export function track<T>(promise: Promise<T>): { settled: () => boolean; promise: Promise<T> } {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  return { settled: () => done, promise };
}
