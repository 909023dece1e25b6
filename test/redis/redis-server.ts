/** The test side of the throwaway `redis-server`: suites skip, with a SKIP line, where it is not installed. */
import { describe } from '@jest/globals';
import { REDIS_SERVER_BINARY } from '../../bench/redis/redis-server.js';

export { RedisServer, REDIS_SERVER_BINARY, type RedisServerOptions } from '../../bench/redis/redis-server.js';

/** `describe` when redis-server is installed; otherwise a skipped suite and a SKIP line saying why. */
export function describeWithRedis(name: string, body: () => void): void {
  if (REDIS_SERVER_BINARY !== undefined) {
    describe(name, body);
    return;
  }
  // Straight to stderr: Jest does not print the console output of a file whose tests were all skipped.
  process.stderr.write(`SKIP: redis-server not found (install the redis-server package): ${name}\n`);
  describe.skip(name, body);
}
