import type { MessageEvent } from '@nestjs/common';
import type { Subscriber } from 'rxjs';
import type { EncodedSseEvent } from '../../sse/encoded-sse-event.js';
import type { SseSink } from '../../sse/listener-pump.js';

/**
 * Hands each event to an Observable subscriber as a Nest `MessageEvent`. `data` is the text the frame
 * carries (strings as they are, anything else as JSON), serialized once per message for every client,
 * so Nest writes it without serializing it again.
 */
export class SubscriberSink implements SseSink {
  constructor(private readonly subscriber: Subscriber<MessageEvent>) {}

  write(event: EncodedSseEvent): void {
    this.subscriber.next({ type: event.event, data: event.data, id: event.id, retry: event.retry });
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
