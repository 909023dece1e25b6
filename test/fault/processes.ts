/**
 * Process control for the fault suite: a durable redis-server (AOF, fsync always, its own port and dir)
 * that can be frozen (SIGSTOP / SIGCONT) and killed (SIGKILL) and restarted on the same port and dir, and
 * application instances on fixed ports that can be killed (SIGKILL) and restarted on the same port.
 * Every child is killed in `dispose` and, failing that, when the test process exits.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import type { InstanceCommand, InstanceReport } from '../redis/e2e/protocol.js';
import { RedisServer } from '../redis/redis-server.js';
import { killOnExit } from '../support/kill-on-exit.js';

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** A plain connection for inspecting Redis (no retries: it fails at once when Redis is down). */
export async function inspectRedis(url: string): Promise<Redis> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  await redis.connect();
  return redis;
}

/** `redis-server --appendonly yes --appendfsync always` (via `RedisServer`), which the suite freezes and kills. */
export class FaultRedis {
  private pid = 0;
  private frozen = false;

  private constructor(readonly server: RedisServer) {}

  static async start(): Promise<FaultRedis> {
    const redis = new FaultRedis(await RedisServer.start({ durable: true }));
    try {
      await redis.readPid();
    } catch (error) {
      await redis.server.dispose();
      throw error;
    }
    return redis;
  }

  get url(): string {
    return this.server.url;
  }

  /** SIGSTOP, `ms` later SIGCONT: connections stay open, nothing answers meanwhile. */
  async freeze(ms: number): Promise<void> {
    process.kill(this.pid, 'SIGSTOP');
    this.frozen = true;
    try {
      await delay(ms);
    } finally {
      this.thaw();
    }
  }

  /** SIGKILL, then a restart on the same port and dir `downMs` later (the AOF is reloaded). */
  async crash(downMs = 0): Promise<void> {
    this.thaw();
    await this.server.stop('SIGKILL');
    if (downMs > 0) await delay(downMs);
    await this.server.restart();
    await this.readPid();
  }

  async dispose(): Promise<void> {
    this.thaw();
    await this.server.dispose();
  }

  private thaw(): void {
    if (!this.frozen) return;
    this.frozen = false;
    try {
      process.kill(this.pid, 'SIGCONT');
    } catch {
      // already gone
    }
  }

  /** The server's pid, from INFO (`RedisServer` keeps its process to itself). */
  private async readPid(): Promise<void> {
    const redis = await inspectRedis(this.url);
    try {
      const info = await redis.info('server');
      const match = /process_id:(\d+)/.exec(info);
      if (match === null) throw new Error('INFO server has no process_id');
      this.pid = Number(match[1]);
    } finally {
      redis.disconnect();
    }
  }
}

const START_TIMEOUT_MS = 30_000;
const CLOSE_TIMEOUT_MS = 10_000;
const MAX_LOG_LINES = 20_000;

export interface FaultInstanceEnv {
  /** Unset: the in-memory backend. */
  REDIS_URL?: string;
  KEY_PREFIX?: string;
  REDIS_COMMAND_TIMEOUT_MS?: string;
}

/** One application instance (test/fault/fault-app-main.ts) in its own process, on a fixed port. */
export class FaultInstance {
  /** What the instance reported as unhandled (rejections, exceptions), over every run of it. */
  readonly unhandled: string[] = [];
  /** Its stdout and stderr lines (its logger prints errors and warnings), over every run of it. */
  readonly logLines: string[] = [];
  /** How many times it was started. */
  starts = 0;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    readonly entry: string,
    readonly name: string,
    readonly port: number,
    private readonly env: FaultInstanceEnv,
  ) {}

  /** Starts it on a free port, which it keeps across restarts. */
  static async start(entry: string, name: string, env: FaultInstanceEnv): Promise<FaultInstance> {
    const instance = new FaultInstance(entry, name, await freePort(), env);
    await instance.launch();
    return instance;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}/eric-sse`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts it again on the same port (retrying while it fails to start, say because Redis is down). */
  async restart(deadlineMs = START_TIMEOUT_MS): Promise<void> {
    if (this.child !== undefined) throw new Error(`${this.name} is running`);
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      try {
        return await this.launch();
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await delay(200);
      }
    }
  }

  /** `kill -9`, and waits for the process to be gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    child.kill('SIGKILL');
    await this.exited;
  }

  /** `app.close()` (the process then exits by itself); SIGKILL if it has not exited within 10 s. */
  async close(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    const command: InstanceCommand = { kind: 'close' };
    if (child.connected) child.send(command);
    const timer = setTimeout(() => child.kill('SIGKILL'), CLOSE_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }

  private launch(): Promise<void> {
    this.starts++;
    const child = fork(this.entry, [], {
      env: {
        PATH: process.env.PATH,
        NO_COLOR: '1',
        PORT: String(this.port),
        ...Object.fromEntries(Object.entries(this.env).filter(([, value]) => value !== undefined)),
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    killOnExit(child);
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        if (this.child === child) this.child = undefined;
        resolve();
      });
    });
    for (const stream of [child.stdout, child.stderr]) {
      let partial = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) if (this.logLines.length < MAX_LOG_LINES) this.logLines.push(line);
      });
    }
    child.on('message', (report: InstanceReport) => {
      if (report.kind === 'unhandled') this.unhandled.push(report.message);
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${this.name} did not start within ${START_TIMEOUT_MS} ms`));
      }, START_TIMEOUT_MS);
      const onMessage = (report: InstanceReport): void => {
        if (report.kind !== 'listening') return;
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve();
      };
      const onExit = (code: number | null): void => {
        clearTimeout(timer);
        child.off('message', onMessage);
        reject(
          new Error(`${this.name} exited with code ${code} before listening:\n${this.logLines.slice(-20).join('\n')}`),
        );
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  }
}

/**
 * The error and warning lines of instances' logs, each with its instance, digits and ids folded so that
 * alike lines count together, most frequent first.
 */
export function logSummary(instances: readonly FaultInstance[], limit = 12): string[] {
  const counts = new Map<string, number>();
  for (const instance of instances) {
    for (const line of instance.logLines) {
      const at = line.search(/\b(ERROR|WARN)\b/);
      if (at === -1) continue;
      const key = `${instance.name}: ${line
        .slice(at)
        .replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '<uuid>')
        .replace(/\d+/g, '#')
        .slice(0, 160)}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([line, count]) => `${String(count).padStart(6)} × ${line}`);
}
