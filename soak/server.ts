/**
 * The soak's server process: the in-memory module with REST on, as the sample runs it, plus the eric
 * socket server over the same channels. Answers the driver's `sample` requests with its own memory,
 * event-loop delay (perf_hooks) and stream counts.
 */
import 'reflect-metadata';
import { Module, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { EricSseModule } from '../src/nest/eric-sse.module.js';
import { EricSseStreams } from '../src/nest/streaming/eric-sse-streams.js';
import { ChannelContainer } from '../src/servers/channel-container.js';
import { SocketServer } from '../src/servers/socket/socket-server.js';
import type { ServerCommand, ServerReport, ServerSample } from './protocol.js';

export const STABLE_CHANNELS = ['news', 'sports', 'weather', 'markets'];
const LOOP_RESOLUTION_MS = 10;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const report = (message: ServerReport): void => {
  if (process.connected) process.send?.(message, undefined, undefined, () => {});
};
// Without the driver nobody stops this process.
process.on('disconnect', () => process.exit(0));

let errorsLogged = 0;
const logger: LoggerService = {
  log: () => {},
  warn: (message: unknown) => process.stderr.write(`[soak server] warn: ${String(message)}\n`),
  error: (message: unknown, ...rest: unknown[]) => {
    errorsLogged++;
    if (errorsLogged <= 20) process.stderr.write(`[soak server] error: ${[message, ...rest].map(String).join(' ')}\n`);
  },
};

@Module({
  imports: [EricSseModule.forRoot({ rest: {}, channels: STABLE_CHANNELS.map((id) => ({ id })) })],
})
class SoakModule {}

const app = await NestFactory.create(SoakModule, { logger });
await app.listen(0, '127.0.0.1');
const container = app.get(ChannelContainer);
const streams = app.get(EricSseStreams);
const dir = await mkdtemp(join(tmpdir(), 'eric-soak-'));
const socketServer = await SocketServer.start(join(dir, 'eric.sock'), { container });

const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
loop.enable();

function percentileMs(p: number): number {
  return Math.max(0, loop.percentile(p) / 1e6 - LOOP_RESOLUTION_MS);
}

function sample(collect: boolean): ServerSample {
  if (collect) {
    gc();
    gc();
  }
  let listeners = 0;
  let runningListeners = 0;
  for (const channelId of container.getAllIds()) {
    for (const { listener } of container.get(channelId).getConnections()) {
      listeners++;
      if (listener.isRunning()) runningListeners++;
    }
  }
  const memory = process.memoryUsage();
  const { user, system } = process.cpuUsage();
  const result: ServerSample = {
    kind: 'sample',
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    heapTotalBytes: memory.heapTotal,
    loopP50Ms: percentileMs(50),
    loopP99Ms: percentileMs(99),
    loopMaxMs: Math.max(0, loop.max / 1e6 - LOOP_RESOLUTION_MS),
    openStreams: streams.openStreams,
    channels: container.getAllIds().length,
    listeners,
    runningListeners,
    cpuMicros: user + system,
    errorsLogged,
  };
  loop.reset();
  return result;
}

process.on('message', (command: ServerCommand) => {
  if (command.kind === 'sample') {
    report(sample(command.gc));
    return;
  }
  void (async () => {
    loop.disable();
    await socketServer.shutdown();
    await app.close();
    await rm(dir, { recursive: true, force: true });
    process.exit(0);
  })();
});

const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
report({ kind: 'ready', port, socketPath: socketServer.path, stableChannels: STABLE_CHANNELS });
