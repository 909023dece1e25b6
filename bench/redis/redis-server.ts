/**
 * A throwaway `redis-server` for tests and benchmarks: a free port, a temp dir, no persistence unless
 * asked, stopped (and its dir removed) afterwards.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killOnExit } from '../kill-on-exit.js';

function findRedisServer(): string | undefined {
  const candidate = process.env.REDIS_SERVER ?? 'redis-server';
  const probe = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? candidate : undefined;
}

/** The `redis-server` command (`$REDIS_SERVER`, else from PATH), or undefined when it is not installed. */
export const REDIS_SERVER_BINARY = findRedisServer();

export interface RedisServerOptions {
  /** Append-only file with fsync on every write: what Redis acknowledged survives a kill. Default false. */
  durable?: boolean;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

export class RedisServer {
  private process: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly options: RedisServerOptions,
  ) {}

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    if (REDIS_SERVER_BINARY === undefined) throw new Error('redis-server not found');
    const dir = mkdtempSync(join(tmpdir(), 'eric-sse-redis-'));
    for (let attempt = 0; ; attempt++) {
      const server = new RedisServer(await freePort(), dir, options);
      try {
        await server.launch();
        return server;
      } catch (error) {
        if (attempt >= 4) {
          rmSync(dir, { recursive: true, force: true });
          throw error;
        }
      }
    }
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.process !== undefined;
  }

  /** Sends `signal` without waiting (SIGSTOP freezes it with its connections open, SIGCONT thaws it). */
  signal(signal: NodeJS.Signals): void {
    this.process?.kill(signal);
  }

  /** Starts it again on the same port and dir (a durable server reloads its data). */
  async restart(): Promise<void> {
    if (this.process !== undefined) throw new Error('redis-server is running');
    await this.launch();
  }

  /** SIGTERM (or `signal`), and waits for the process to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.process;
    if (child === undefined) return;
    this.process = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.ref(); // waiting for its exit must keep this process alive
      child.kill(signal);
    });
  }

  /** Stops it and removes its dir. */
  async dispose(): Promise<void> {
    await this.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  private launch(): Promise<void> {
    const persistence = this.options.durable
      ? ['--save', '', '--appendonly', 'yes', '--appendfsync', 'always']
      : ['--save', '', '--appendonly', 'no'];
    const child = spawn(
      REDIS_SERVER_BINARY as string,
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, ...persistence],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    killOnExit(child);
    return new Promise((resolve, reject) => {
      let output = '';
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          child.stdout?.off('data', onData);
          child.stdout?.resume();
          child.off('exit', onExit);
          // Once ready, a server left running must not keep the test runner from exiting: killOnExit
          // ends it. (Not before: a caller may have nothing else keeping it alive.)
          child.unref();
          (child.stdout as Socket | null)?.unref();
          (child.stderr as Socket | null)?.unref();
          this.process = child;
          resolve();
        }
      };
      const onExit = (): void => reject(new Error(`redis-server exited before it was ready:\n${output}`));
      child.stdout?.on('data', onData);
      child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('exit', onExit);
    });
  }
}
