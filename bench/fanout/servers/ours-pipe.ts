/**
 * Ours, the fast path: a `@Get` route handing the raw request and response to `EricSseStreams.pipeWatch`,
 * which adds a fresh listener for the connection (removed when it closes) and writes its frames straight
 * to the response. Broadcasts go to the `SSEChannel`.
 */
import 'reflect-metadata';
import { Controller, Get, Req, Res } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EricSseStreams } from '../../../src/nest/streaming/eric-sse-streams.js';
import { STREAM_PATH } from '../protocol.js';
import { runFanoutServer, type SubscriberCount } from '../server-harness.js';
import { FANOUT_CHANNEL_ID, startOurApp } from './ours-app.js';

function controllerFor(subscribers: SubscriberCount) {
  @Controller()
  class EventsController {
    constructor(private readonly streams: EricSseStreams) {}

    @Get(STREAM_PATH)
    async events(@Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
      await this.streams.pipeWatch(req, res, FANOUT_CHANNEL_ID);
      // Bench bookkeeping only: the listener is on the channel, broadcasts reach this client from now on.
      subscribers.add();
      res.on('close', () => subscribers.remove());
    }
  }
  return EventsController;
}

await runFanoutServer((subscribers) => startOurApp(controllerFor(subscribers)));
