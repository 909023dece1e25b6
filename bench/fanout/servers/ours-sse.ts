/**
 * Ours, the `@Sse` helper: an `@Sse` route returning `EricSseStreams.watchEvents`, so each client gets a
 * fresh listener of its own on the channel (removed when it leaves). Broadcasts go to the `SSEChannel`.
 */
import 'reflect-metadata';
import { Controller, Sse, type MessageEvent } from '@nestjs/common';
import { tap, type Observable } from 'rxjs';
import { EricSseStreams } from '../../../src/nest/streaming/eric-sse-streams.js';
import { STREAM_PATH } from '../protocol.js';
import { runFanoutServer, type SubscriberCount } from '../server-harness.js';
import { FANOUT_CHANNEL_ID, startOurApp } from './ours-app.js';

function controllerFor(subscribers: SubscriberCount) {
  @Controller()
  class EventsController {
    constructor(private readonly streams: EricSseStreams) {}

    @Sse(STREAM_PATH)
    events(): Observable<MessageEvent> {
      return this.streams.watchEvents(FANOUT_CHANNEL_ID).pipe(
        // Bench bookkeeping only, as for the hand-written Nest server: tells the driver the client is in.
        tap({ subscribe: () => subscribers.add(), finalize: () => subscribers.remove() }),
      );
    }
  }
  return EventsController;
}

await runFanoutServer((subscribers) => startOurApp(controllerFor(subscribers)));
