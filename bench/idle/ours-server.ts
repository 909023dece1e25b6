/**
 * Ours: the module's REST stream endpoint (`GET /eric-sse/channels/idle/listeners/:l/stream`, the fast
 * path), in memory, as `EricSseModule.forRoot({ rest: {} })` serves it. Listener `l<i>` exists before
 * client `i` streams it, as after a subscribe.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Server } from 'node:http';
import { MessageQueueListener } from '../../src/core/listener.js';
import { EricSseModule } from '../../src/nest/eric-sse.module.js';
import { EricSseStreams } from '../../src/nest/streaming/eric-sse-streams.js';
import { ChannelContainer } from '../../src/servers/channel-container.js';
import { IDLE_CHANNEL } from './protocol.js';
import { listen, serveIdle } from './serve.js';

@Module({ imports: [EricSseModule.forRoot({ rest: {}, channels: [{ id: IDLE_CHANNEL }] })] })
class IdleModule {}

await serveIdle(async () => {
  const app = await NestFactory.create(IdleModule, { logger: ['error', 'warn'] });
  await app.init();
  const server = app.getHttpServer() as Server;
  await listen(server);
  const channel = app.get(ChannelContainer).get(IDLE_CHANNEL);
  const streams = app.get(EricSseStreams);
  let prepared = 0;
  return {
    server,
    pathTemplate: `/eric-sse/channels/${IDLE_CHANNEL}/listeners/l{i}/stream`,
    openStreams: () => streams.openStreams,
    async prepare(count) {
      for (; prepared < count; prepared++) await channel.registerListener(new MessageQueueListener(`l${prepared}`));
    },
    close: () => app.close(),
  };
});
