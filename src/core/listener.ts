import { randomUUID } from 'node:crypto';
import type { MessageContract } from './message.js';

/** A consumer of one connection's queue. Subclasses override `onMessage`. */
export class MessageQueueListener {
  readonly id: string;
  private running = false;
  private stopCallbacks: Set<() => void> | undefined;

  constructor(id?: string) {
    this.id = id ?? randomUUID();
  }

  start(): void {
    this.running = true;
  }

  stop(): void {
    this.running = false;
    const callbacks = this.stopCallbacks;
    if (callbacks === undefined) return;
    this.stopCallbacks = undefined;
    for (const callback of callbacks) callback();
  }

  isRunning(): boolean {
    return this.running;
  }

  /** Called when a message is delivered to this listener. */
  onMessage(_msg: MessageContract): void | Promise<void> {}

  /**
   * Calls `callback` once, the next time the listener stops. Returns a function that cancels it.
   * Streams use it to wake up without polling.
   */
  onStop(callback: () => void): () => void {
    (this.stopCallbacks ??= new Set()).add(callback);
    return () => this.stopCallbacks?.delete(callback);
  }
}
