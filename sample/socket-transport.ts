import type { INestApplication } from '@nestjs/common';
import { defaultSocketPath, EricSocketTransport } from '../src/index.js';

/** Where the sample listens for eric socket commands: `$SOCKET_PATH`, else `<os tmpdir>/eric-sse.sock`. */
export function sampleSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.SOCKET_PATH || defaultSocketPath();
}

/**
 * Serves the eric socket protocol on `path` over the app's channels, so the shell (the `eric-sse` CLI,
 * `socat`, `nc -U`) can push events that the page receives.
 */
export async function connectSocketTransport(app: INestApplication, path: string): Promise<void> {
  app.connectMicroservice({ strategy: new EricSocketTransport({ path }) });
  await app.startAllMicroservices();
}
