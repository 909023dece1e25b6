import { afterAll, beforeAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { connectRedisBackend, type RedisBackend, type RedisBackendOptions } from '../../src/index.js';
import { RedisServer } from './redis-server.js';

/** A throwaway redis-server for the tests of the calling `describe` block: started before them, stopped after. */
export function useRedisServer(): { readonly url: string } {
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.dispose();
  });
  return {
    get url(): string {
      if (server === undefined) throw new Error('redis-server is not started: read its url in a test or a hook');
      return server.url;
    },
  };
}

/** A fresh key prefix per test, so that tests sharing one redis-server never see each other's keys. */
export function uniquePrefix(): string {
  return `test-${randomUUID().slice(0, 8)}:`;
}

/** Backends made by a test, closed by `closeAll` in `afterEach`. */
export class Backends {
  private readonly open: RedisBackend[] = [];

  async connect(url: string, keyPrefix: string, options: Partial<RedisBackendOptions> = {}): Promise<RedisBackend> {
    const backend = await connectRedisBackend({ redis: url, keyPrefix, ...options });
    this.open.push(backend);
    return backend;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.open.splice(0).map((backend) => backend.close()));
  }
}

/** Resolves once `predicate` holds, re-checking on each turn of the event loop (for state set by I/O callbacks). */
export async function until(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
