import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where the sample app, the CLI and `EricSocketClientProxy` meet unless told otherwise: `<os tmpdir>/eric-sse.sock`. */
export function defaultSocketPath(): string {
  return join(tmpdir(), 'eric-sse.sock');
}
