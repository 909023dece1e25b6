/**
 * The Nest application both of our server variants run, set up as a user would: `EricSseModule` creating
 * the channel and providing the `EricSseStreams` that the controller under test injects.
 */
import 'reflect-metadata';
import { Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Server } from 'node:http';
import { Message } from '../../../src/core/message.js';
import { EricSseModule } from '../../../src/nest/eric-sse.module.js';
import { ChannelContainer } from '../../../src/servers/channel-container.js';
import { listenOnFreePort } from '../listen.js';
import type { FanoutPayload } from '../protocol.js';
import type { FanoutServer } from '../server-harness.js';

export const FANOUT_CHANNEL_ID = 'fanout';

export async function startOurApp(controller: Type): Promise<FanoutServer> {
  @Module({
    imports: [EricSseModule.forRoot({ channels: [{ id: FANOUT_CHANNEL_ID }] })],
    controllers: [controller],
  })
  class AppModule {}

  const app = await NestFactory.create(AppModule, { logger: false });
  await app.init();
  const port = await listenOnFreePort(app.getHttpServer() as Server);
  const channel = app.get(ChannelContainer).get(FANOUT_CHANNEL_ID);
  return {
    port,
    broadcast(payload: FanoutPayload) {
      return channel.broadcast(new Message('message', { ...payload }));
    },
  };
}
