/**
 * Ours on Redis: the fast path (`EricSseStreams.pipeWatch`) as in `ours-pipe`, with `EricSseModule` on the
 * Redis at `$REDIS_URL` under `$KEY_PREFIX`. Several of these processes on one Redis and prefix are
 * instances of one application: a broadcast made on one reaches the clients of all. `$ERIC_HISTORY=off`
 * runs it with `history: false`.
 */
import 'reflect-metadata';
import { Controller, Get, Module, Req, Res } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Message } from '../../../src/core/message.js';
import { EricSseModule } from '../../../src/nest/eric-sse.module.js';
import { EricSseStreams } from '../../../src/nest/streaming/eric-sse-streams.js';
import { ChannelContainer } from '../../../src/servers/channel-container.js';
import { listenOnFreePort } from '../../fanout/listen.js';
import { STREAM_PATH, type FanoutPayload } from '../../fanout/protocol.js';
import { runFanoutServer, type SubscriberCount } from '../../fanout/server-harness.js';
import { FANOUT_CHANNEL_ID } from '../../fanout/servers/ours-app.js';

function controllerFor(subscribers: SubscriberCount) {
  @Controller()
  class EventsController {
    constructor(private readonly streams: EricSseStreams) {}

    @Get(STREAM_PATH)
    async events(@Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
      await this.streams.pipeWatch(req, res, FANOUT_CHANNEL_ID);
      subscribers.add();
      res.on('close', () => subscribers.remove());
    }
  }
  return EventsController;
}

await runFanoutServer(async (subscribers) => {
  const { REDIS_URL, KEY_PREFIX, ERIC_HISTORY } = process.env;
  if (REDIS_URL === undefined) throw new Error('REDIS_URL is not set');
  @Module({
    imports: [
      EricSseModule.forRoot({
        redis: REDIS_URL,
        keyPrefix: KEY_PREFIX,
        channels: [{ id: FANOUT_CHANNEL_ID }],
        ...(ERIC_HISTORY === 'off' ? { history: false } : {}),
      }),
    ],
    controllers: [controllerFor(subscribers)],
  })
  class AppModule {}

  const app = await NestFactory.create(AppModule, { logger: false });
  await app.init();
  const port = await listenOnFreePort(app.getHttpServer() as Server);
  const channel = await app.get(ChannelContainer).resolve(FANOUT_CHANNEL_ID);
  return {
    port,
    broadcast(payload: FanoutPayload) {
      return channel.broadcast(new Message('message', { ...payload }));
    },
  };
});
