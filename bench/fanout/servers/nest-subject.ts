/**
 * What a Nest user writes by hand today: one RxJS `Subject`, and an `@Sse` route returning it mapped to
 * `MessageEvent`s. Nest serializes `data` per client.
 */
import 'reflect-metadata';
import { Controller, Injectable, Module, Sse, type MessageEvent } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Server } from 'node:http';
import { Subject, map, tap, type Observable } from 'rxjs';
import { listenOnFreePort } from '../listen.js';
import { STREAM_PATH, type FanoutPayload } from '../protocol.js';
import { runFanoutServer, SubscriberCount } from '../server-harness.js';

@Injectable()
class Broadcaster {
  readonly subject = new Subject<FanoutPayload>();
}

function controllerFor(subscribers: SubscriberCount) {
  @Controller()
  class EventsController {
    constructor(private readonly broadcaster: Broadcaster) {}

    @Sse(STREAM_PATH)
    events(): Observable<MessageEvent> {
      return this.broadcaster.subject.asObservable().pipe(
        // Bench bookkeeping only: tells the driver when the client is subscribed.
        tap({ subscribe: () => subscribers.add(), finalize: () => subscribers.remove() }),
        map((payload): MessageEvent => ({ type: 'message', data: payload })),
      );
    }
  }
  return EventsController;
}

await runFanoutServer(async (subscribers) => {
  @Module({ controllers: [controllerFor(subscribers)], providers: [Broadcaster] })
  class AppModule {}

  const app = await NestFactory.create(AppModule, { logger: false });
  await app.init();
  const port = await listenOnFreePort(app.getHttpServer() as Server);
  const { subject } = app.get(Broadcaster);
  return {
    port,
    broadcast(payload) {
      subject.next(payload);
    },
  };
});
