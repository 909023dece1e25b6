import { spawn, type ChildProcess } from 'node:child_process';
import { killOnExit } from '../kill-on-exit.js';

interface Report {
  kind: string;
}

/**
 * A child process of the idle suite, started through bash so that its open-files limit can be raised
 * (10,000 sockets each), with typed IPC requests that fail on a deadline or on the child's exit.
 */
export class IdleChild<Command, R extends Report> {
  private readonly child: ChildProcess;
  private readonly inbox: R[] = [];
  private wake: (() => void) | undefined;
  private ended: Error | undefined;
  private readonly exited: Promise<void>;

  constructor(
    readonly name: string,
    modulePath: string,
  ) {
    const script = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" --expose-gc "$@"';
    this.child = spawn('bash', ['-c', script, process.execPath, modulePath], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    killOnExit(this.child);
    this.child.on('message', (report: R) => {
      this.inbox.push(report);
      this.wake?.();
    });
    this.child.on('error', (error) => {
      this.ended ??= new Error(`${name}: ${error.message}`);
      this.wake?.();
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        this.ended ??= new Error(`${name} exited (code ${code}, signal ${signal})`);
        this.wake?.();
        resolve();
      }),
    );
  }

  /** Sends `command` and waits for the next report, which must be of `kind`. */
  async request<K extends R['kind']>(command: Command, kind: K, timeoutMs: number): Promise<Extract<R, { kind: K }>> {
    if (this.ended !== undefined) throw this.ended;
    this.child.send(command as object);
    return this.next(kind, timeoutMs);
  }

  async next<K extends R['kind']>(kind: K, timeoutMs: number): Promise<Extract<R, { kind: K }>> {
    const deadline = Date.now() + timeoutMs;
    while (this.inbox.length === 0) {
      if (this.ended !== undefined) throw this.ended;
      if (Date.now() > deadline) throw new Error(`${this.name}: no '${kind}' within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    const report = this.inbox.shift() as R;
    if (report.kind === kind) return report as Extract<R, { kind: K }>;
    throw new Error(`${this.name}: expected '${kind}', got ${JSON.stringify(report).slice(0, 300)}`);
  }

  /** Asks the child to exit; kills it if it has not within 10 s. */
  async stop(command: Command): Promise<void> {
    if (this.ended === undefined) {
      try {
        this.child.send(command as object);
      } catch {
        // Already closing: the kill below covers it.
      }
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}
