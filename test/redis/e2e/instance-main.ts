/**
 * One application instance for the multi-instance tests, run as its own process (compiled by
 * `compile-instance.ts`): EricSseModule on Redis with the REST endpoints, the eric socket transport, and
 * an `@OnMessage` provider. Configured by the environment; talks to the test over IPC.
 */
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { ChannelContainer, EricSocketTransport, EricSseModule, Message, OnMessage } from '../../../src/index.js';
import type { SignedMessage } from '../../../src/index.js';
import type { InstanceCommand, InstanceReport } from './protocol.js';

const { REDIS_URL, KEY_PREFIX, SOCKET_PATH } = process.env;
export const LOG_CHANNEL = 'log';

function report(message: InstanceReport): void {
  if (process.connected) process.send?.(message);
}

process.on('unhandledRejection', (reason) => report({ kind: 'unhandled', message: String(reason) }));
process.on('uncaughtException', (error) => report({ kind: 'unhandled', message: String(error?.stack ?? error) }));

/** Answers `ping` by broadcasting `pong` on the log channel, so that tests see it ran (and where). */
@Injectable()
class Echo {
  constructor(private readonly channels: ChannelContainer) {}

  @OnMessage('ping')
  async ping(msg: SignedMessage): Promise<void> {
    const log = await this.channels.resolve(LOG_CHANNEL);
    await log.broadcast(new Message('pong', msg.payload));
  }
}

@Module({
  imports: [
    EricSseModule.forRoot({ redis: REDIS_URL, keyPrefix: KEY_PREFIX, rest: {}, channels: [{ id: LOG_CHANNEL }] }),
  ],
  providers: [Echo],
})
class InstanceModule {}

// Quiet: what the test must see (unhandled rejections, exceptions) comes over IPC.
const app = await NestFactory.create(InstanceModule, { logger: process.env.INSTANCE_LOGS ? ['error', 'warn'] : false });
app.connectMicroservice({ strategy: new EricSocketTransport({ path: SOCKET_PATH as string }) });
await app.startAllMicroservices();
await app.listen(0, '127.0.0.1');
process.on('message', (command: InstanceCommand) => {
  if (command.kind !== 'close') return;
  // Closing must release everything: the process then exits by itself, with no process.exit.
  app.close().then(
    () => process.disconnect(),
    (error: unknown) => {
      report({ kind: 'unhandled', message: `close failed: ${String(error)}` });
      process.disconnect();
    },
  );
});
report({ kind: 'listening', port: (app.getHttpServer().address() as AddressInfo).port });
