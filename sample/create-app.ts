import type { LoggerService, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppModule } from './app.module.js';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The page (index.html, app.js, style.css). It is not compiled: next to this file when run from
 * sources (tests), two levels up from the compiled `.build/sample/`.
 */
export const PUBLIC_DIR = [join(here, 'public'), join(here, '..', '..', 'sample', 'public')].find((dir) =>
  existsSync(join(dir, 'index.html')),
);

/** The sample application, ready to `listen`: the module's REST endpoints under /api, the page at /. */
export async function createSampleApp(
  logger: LoggerService | LogLevel[] | false = ['log', 'warn', 'error'],
): Promise<NestExpressApplication> {
  if (PUBLIC_DIR === undefined) throw new Error(`sample/public not found from ${here}`);
  const app = await NestFactory.create<NestExpressApplication>(AppModule, { logger });
  app.useStaticAssets(PUBLIC_DIR);
  return app;
}
