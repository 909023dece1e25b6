import type { MessageEvent } from '@nestjs/common';
import type { Subscriber } from 'rxjs';
import { ID_ONLY_SSE_EVENT, type EncodedSseEvent } from '../../sse/encoded-sse-event.js';
import type { KeepAliveTarget } from '../../sse/keep-alive.js';
import type { SseEventId, SseSink } from '../../sse/listener-pump.js';

/** A comment-only event: Nest writes it as a comment line, gives it no id, and clients ignore it. */
const KEEP_ALIVE_EVENT: MessageEvent = Object.freeze({ comment: '' }) as MessageEvent;

/**
 * Hands each event to an Observable subscriber as a Nest `MessageEvent`. `data` is the text the frame
 * carries (strings as they are, anything else as JSON), serialized once per message for every client,
 * so Nest writes it without serializing it again. Beaten by a keep-alive ticker, it sends a comment-only
 * event on an idle stream, which Nest writes as `: ` and a blank line.
 */
export class SubscriberSink implements SseSink, KeepAliveTarget {
  private wroteSinceBeat = false;

  constructor(private readonly subscriber: Subscriber<MessageEvent>) {}

  write(event: EncodedSseEvent, id: SseEventId | undefined): void {
    this.wroteSinceBeat = true;
    if (event === ID_ONLY_SSE_EVENT) {
      // Only `id`: Nest writes the `id:` line alone, which a client takes as its resume point.
      this.subscriber.next({ id: typeof id === 'number' ? String(id) : id } as MessageEvent);
      return;
    }
    this.subscriber.next({
      type: event.event,
      data: event.data,
      id: typeof id === 'number' ? String(id) : id,
      retry: event.retry,
    });
  }

  /** A keep-alive comment (`: ` and a blank line, written by Nest) when nothing was sent since the last beat. */
  beat(): void {
    if (!this.wroteSinceBeat) this.subscriber.next(KEEP_ALIVE_EVENT);
    this.wroteSinceBeat = false;
  }

  flush(): boolean {
    return true;
  }

  end(): void {
    this.subscriber.complete();
  }

  fail(error: unknown): void {
    this.subscriber.error(error);
  }
}
