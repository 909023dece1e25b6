import { fork, type ChildProcess } from 'node:child_process';
import type { EricSseLimitsOptions } from '../../../src/index.js';
import type { MemoryFigures, QueueFigures, ServerCommand, ServerReport } from './protocol.js';

const START_TIMEOUT_MS = 30_000;

type Question =
  | { kind: 'broadcast'; channelId: string; count: number; payloadBytes: number }
  | { kind: 'memory' }
  | {
      kind: 'queue';
      channelId: string;
      listenerId: string;
    };

/** The slow-client test's server (`server-main.ts`, compiled) in its own process with `--expose-gc`. */
export class ServerProcess {
  readonly unhandled: string[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, (value: unknown) => void>();
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.on('message', (report: ServerReport) => {
      if (report.kind === 'unhandled') this.unhandled.push(report.message);
      if (report.kind === 'answer') {
        this.pending.get(report.id)?.(report.value);
        this.pending.delete(report.id);
      }
    });
  }

  static start(entry: string, limits: EricSseLimitsOptions): Promise<ServerProcess> {
    const child = fork(entry, [], {
      execArgv: ['--expose-gc'],
      env: { PATH: process.env.PATH, LIMITS: JSON.stringify(limits) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the server did not start within ${START_TIMEOUT_MS} ms`));
      }, START_TIMEOUT_MS);
      child.once('exit', (code) => reject(new Error(`the server exited with code ${code} before listening`)));
      child.on('message', (report: ServerReport) => {
        if (report.kind !== 'listening') return;
        clearTimeout(timer);
        resolve(new ServerProcess(child, report.port));
      });
    });
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}/eric-sse`;
  }

  broadcast(channelId: string, count: number, payloadBytes: number): Promise<unknown> {
    return this.ask({ kind: 'broadcast', channelId, count, payloadBytes });
  }

  /** The server's memory after three full garbage collections. */
  memory(): Promise<MemoryFigures> {
    return this.ask({ kind: 'memory' }) as Promise<MemoryFigures>;
  }

  queue(channelId: string, listenerId: string): Promise<QueueFigures> {
    return this.ask({ kind: 'queue', channelId, listenerId }) as Promise<QueueFigures>;
  }

  /** Closes the app; the process then exits by itself (killed if it does not within 10 s). */
  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.send({ kind: 'close' } satisfies ServerCommand);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }

  private ask(question: Question): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.send({ ...question, id } as ServerCommand);
    });
  }
}
