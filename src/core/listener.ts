import { randomUUID } from 'node:crypto';
import type { MessageContract } from './message.js';

/** A consumer of one connection's queue. Subclasses override `onMessage`. */
export class MessageQueueListener {
  readonly id: string;
  private running = false;
  private stopCallbacks: Set<() => void> | undefined;
  private activityCallbacks: Set<(running: boolean) => void> | undefined;
  private idleSinceMs: number | undefined = Date.now();

  constructor(id?: string) {
    this.id = id ?? randomUUID();
  }

  /**
   * When the listener was made or last stopped (`Date.now()`), undefined while it runs: streams start
   * their listener and stop it when they end, so this is how long nobody has streamed it (idle reaping).
   */
  get idleSince(): number | undefined {
    return this.idleSinceMs;
  }

  start(): void {
    this.running = true;
    this.idleSinceMs = undefined;
    if (this.activityCallbacks !== undefined) for (const callback of this.activityCallbacks) callback(true);
  }

  stop(): void {
    this.running = false;
    this.idleSinceMs = Date.now();
    if (this.activityCallbacks !== undefined) for (const callback of this.activityCallbacks) callback(false);
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

  /**
   * Calls `callback(true)` each time the listener starts and `callback(false)` each time it stops, until
   * the returned function is called. A backend shared by processes (Redis) records stream activity with it.
   */
  observeActivity(callback: (running: boolean) => void): () => void {
    (this.activityCallbacks ??= new Set()).add(callback);
    return () => this.activityCallbacks?.delete(callback);
  }
}
