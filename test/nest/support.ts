import type { INestApplication, LoggerService, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';

/** A real Nest app over `metadata`, initialised; logs go to `logger` (silent by default). */
export async function createApp(
  metadata: ModuleMetadata,
  logger: LoggerService | false = false,
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule(metadata).compile();
  const app = moduleRef.createNestApplication({ logger });
  await app.init();
  return app;
}

/** Builds the app and returns the error its bootstrap (compile + init) failed with, closing what was built. */
export async function bootstrapError(metadata: ModuleMetadata): Promise<Error> {
  let app: INestApplication | undefined;
  try {
    const moduleRef = await Test.createTestingModule(metadata).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  } catch (error) {
    await app?.close();
    return error as Error;
  }
  await app.close();
  throw new Error('bootstrap succeeded');
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A Nest logger that keeps what it is given. */
export class RecordingLogger implements LoggerService {
  readonly lines: { level: string; message: string }[] = [];
  log(message: unknown): void {
    this.lines.push({ level: 'log', message: String(message) });
  }
  error(message: unknown): void {
    this.lines.push({ level: 'error', message: String(message) });
  }
  warn(message: unknown): void {
    this.lines.push({ level: 'warn', message: String(message) });
  }
  debug(message: unknown): void {
    this.lines.push({ level: 'debug', message: String(message) });
  }
  verbose(message: unknown): void {
    this.lines.push({ level: 'verbose', message: String(message) });
  }
}
