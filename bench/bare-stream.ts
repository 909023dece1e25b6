import type { MessageContract, Payload } from '../src/core/message.js';

/** What both the bare baseline and `SSEChannel` streams yield per message. */
export interface StreamedEvent {
  event: string;
  retry: number;
  data: Payload;
}

/**
 * The baseline the in-process benchmarks compare against: a plain array, a waiter woken by a plain
 * resolve callback, and an async generator that indexes the array and yields one object per message.
 * No ids, no listener, no channel: the least a hand-written stream can do.
 */
export class BareQueue {
  private items: MessageContract[] = [];
  private head = 0;
  private waiter: (() => void) | undefined;
  private closed = false;

  push(msg: MessageContract): void {
    this.items.push(msg);
    this.wake();
  }

  /** Ends the stream once it has drained what is queued. */
  close(): void {
    this.closed = true;
    this.wake();
  }

  async *stream(): AsyncGenerator<StreamedEvent, void, undefined> {
    for (;;) {
      if (this.head < this.items.length) {
        const msg = this.items[this.head++];
        if (this.head === this.items.length) {
          this.items = [];
          this.head = 0;
        }
        yield { event: msg.type, retry: 5, data: msg.payload };
      } else if (this.closed) {
        return;
      } else {
        await new Promise<void>((resolve) => (this.waiter = resolve));
      }
    }
  }

  private wake(): void {
    const waiter = this.waiter;
    if (waiter === undefined) return;
    this.waiter = undefined;
    waiter();
  }
}
