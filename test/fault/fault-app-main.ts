/**
 * One application instance of the fault suite, run as its own process (compiled by `compileEntry`):
 * EricSseModule with the REST endpoints, on Redis when `REDIS_URL` is set (else in memory), listening
 * on the fixed `PORT` so that clients reconnect to it after a restart. `REDIS_COMMAND_TIMEOUT_MS` sets
 * ioredis's `commandTimeout` (the module's default when unset). Talks to the test over IPC (the protocol
 * of the multi-instance tests); exits when the test process goes away.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { RedisOptions } from 'ioredis';
import type { AddressInfo } from 'node:net';
import { EricSseModule, type EricSseModuleOptions } from '../../src/index.js';
import type { InstanceCommand, InstanceReport } from '../redis/e2e/protocol.js';

const { REDIS_URL, KEY_PREFIX, PORT, REDIS_COMMAND_TIMEOUT_MS } = process.env;

function report(message: InstanceReport): void {
  if (process.connected) process.send?.(message);
}

process.on('unhandledRejection', (reason) => report({ kind: 'unhandled', message: String(reason) }));
process.on('uncaughtException', (error) => report({ kind: 'unhandled', message: String(error?.stack ?? error) }));
// Never outlive the test process (a killed Jest worker cannot run its exit hooks).
process.on('disconnect', () => process.exit(0));

function redisOption(url: string): string | RedisOptions {
  if (REDIS_COMMAND_TIMEOUT_MS === undefined || REDIS_COMMAND_TIMEOUT_MS === '') return url;
  const { hostname, port } = new URL(url);
  return { host: hostname, port: Number(port), commandTimeout: Number(REDIS_COMMAND_TIMEOUT_MS) };
}

const options: EricSseModuleOptions = { rest: {} };
if (REDIS_URL !== undefined && REDIS_URL !== '') {
  options.redis = redisOption(REDIS_URL);
  options.keyPrefix = KEY_PREFIX;
}

@Module({ imports: [EricSseModule.forRoot(options)] })
class FaultAppModule {}

// Errors and warnings go to stderr, which the test keeps for its diagnosis.
const app = await NestFactory.create(FaultAppModule, { logger: ['error', 'warn'] });
await app.listen(Number(PORT ?? 0), '127.0.0.1');
process.on('message', (command: InstanceCommand) => {
  if (command.kind !== 'close') return;
  app.close().then(
    () => process.disconnect(),
    (error: unknown) => {
      report({ kind: 'unhandled', message: `close failed: ${String(error)}` });
      process.disconnect();
    },
  );
});
report({ kind: 'listening', port: (app.getHttpServer().address() as AddressInfo).port });
