/**
 * The server of the slow-client test, in its own process (so that Jest's memory does not count): the
 * in-memory module with the REST endpoints and the `limits` given in `$LIMITS` (JSON). Run with
 * `--expose-gc`; commands and answers go over IPC (see `protocol.ts`).
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { setImmediate as turn } from 'node:timers/promises';
import { ChannelContainer, EricSseModule, InMemoryQueue, Message } from '../../../src/index.js';
import type { MemoryFigures, QueueFigures, ServerCommand, ServerReport } from './protocol.js';

function report(message: ServerReport): void {
  if (process.connected) process.send?.(message);
}

process.on('unhandledRejection', (reason) => report({ kind: 'unhandled', message: String(reason) }));
process.on('uncaughtException', (error) => report({ kind: 'unhandled', message: String(error?.stack ?? error) }));

@Module({
  imports: [
    EricSseModule.forRoot({
      rest: {},
      channels: [{ id: 'feed' }, { id: 'warm-up' }],
      limits: JSON.parse(process.env.LIMITS ?? '{}'),
    }),
  ],
})
class SlowClientModule {}

const app = await NestFactory.create(SlowClientModule, { logger: false });
await app.listen(0, '127.0.0.1');
const container = app.get(ChannelContainer);

/** Broadcasts `count` messages with distinct payloads, letting the streams run every 100 (as requests would). */
async function broadcast(channelId: string, count: number, payloadBytes: number): Promise<void> {
  const channel = container.get(channelId);
  for (let n = 1; n <= count; n++) {
    await channel.broadcast(new Message('tick', { n, text: String(n).padEnd(payloadBytes, '.') }));
    if (n % 100 === 0) await turn();
  }
  for (let i = 0; i < 10; i++) await turn();
}

async function memory(): Promise<MemoryFigures> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await turn();
  }
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapUsed, external, arrayBuffers };
}

function queue(channelId: string, listenerId: string): QueueFigures {
  const held = container.get(channelId).getConnection(listenerId).queue as InMemoryQueue;
  return { size: held.size, dropped: held.dropped, maxSize: held.maxSize };
}

async function answer(command: Exclude<ServerCommand, { kind: 'close' }>): Promise<unknown> {
  switch (command.kind) {
    case 'broadcast':
      return broadcast(command.channelId, command.count, command.payloadBytes);
    case 'memory':
      return memory();
    case 'queue':
      return queue(command.channelId, command.listenerId);
  }
}

process.on('message', (command: ServerCommand) => {
  if (command.kind === 'close') {
    app.close().then(
      () => process.disconnect(),
      (error: unknown) => {
        report({ kind: 'unhandled', message: `close failed: ${String(error)}` });
        process.disconnect();
      },
    );
    return;
  }
  answer(command).then(
    (value) => report({ kind: 'answer', id: command.id, value: value ?? null }),
    (error: unknown) => report({ kind: 'unhandled', message: String(error) }),
  );
});
report({ kind: 'listening', port: (app.getHttpServer().address() as AddressInfo).port });
