import { lstat, unlink } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { InvalidConfigurationException } from '../../core/errors.js';
import { SocketPathInUseException } from './socket-errors.js';

/**
 * Makes `path` free for a new socket server: nothing there is fine; a socket file nobody listens on is
 * removed; a live server or a file that is not a socket is an error, and nothing is touched.
 */
export async function claimSocketPath(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return;
    throw error;
  }
  if (!isSocket) throw new InvalidConfigurationException(`${path} exists and is not a socket; not replacing it`);
  if (await isListening(path)) throw new SocketPathInUseException(`A server is already listening on ${path}`);
  try {
    await unlink(path);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
}

/** True when a server accepts connections on the socket file at `path`. */
export function isListening(path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (error) => {
      const code = errorCode(error);
      if (code === 'ECONNREFUSED' || code === 'ENOENT') resolve(false);
      else reject(error);
    });
  });
}

export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
