/**
 * The driver's handle on one child process of the suite: typed IPC in both directions, waits with a
 * deadline, and a stop that always ends with the process gone.
 */
import { fork, type ChildProcess } from 'node:child_process';

interface Report {
  kind: string;
}

/** Every child still running, killed if the driver exits for any reason. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

const STOP_TIMEOUT_MS = 5000;

export class Child<Command, R extends Report> {
  private readonly process: ChildProcess;
  private readonly inbox: R[] = [];
  private wake: (() => void) | undefined;
  private ended: Error | undefined;
  private hasExited = false;
  private readonly exited: Promise<void>;

  constructor(
    readonly name: string,
    modulePath: string,
    execArgv: string[] = [],
  ) {
    // Children print nothing on stdout, which holds the report; anything they do print goes to stderr.
    this.process = fork(modulePath, [], { execArgv, stdio: ['ignore', 2, 2, 'ipc'] });
    running.add(this.process);
    this.process.on('message', (report: R) => {
      this.inbox.push(report);
      this.wake?.();
    });
    // Spawn failures and sends to a child that is gone; its exit, if it started, follows.
    this.process.on('error', (error) => {
      this.ended ??= new Error(`${name}: ${error.message}`);
      this.wake?.();
    });
    this.exited = new Promise((resolve) => {
      this.process.on('exit', (code, signal) => {
        running.delete(this.process);
        this.hasExited = true;
        this.ended ??= new Error(`${name} exited (code ${code}, signal ${signal})`);
        this.wake?.();
        resolve();
      });
    });
  }

  send(command: Command): void {
    if (this.ended !== undefined) throw this.ended;
    this.process.send(command as object);
  }

  /** The next report, which must be of `kind`; an `error` report or an exit rejects. */
  async expect<K extends R['kind']>(kind: K, timeoutMs: number): Promise<Extract<R, { kind: K }>> {
    const deadline = Date.now() + timeoutMs;
    while (this.inbox.length === 0) {
      if (this.ended !== undefined) throw this.ended;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`${this.name}: no '${kind}' report within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = undefined;
          resolve();
        };
      });
    }
    const report = this.inbox.shift() as R;
    if (report.kind === kind) return report as Extract<R, { kind: K }>;
    const detail = report.kind === 'error' ? (report as unknown as { message: string }).message : report.kind;
    throw new Error(`${this.name}: expected '${kind}', got ${detail}`);
  }

  /** Asks the child to exit with `command`, and kills it if it has not within a few seconds. */
  async stop(command: Command): Promise<void> {
    // No pid: the process never started, so there is nothing to stop.
    if (!this.hasExited && this.process.pid !== undefined) {
      try {
        this.process.send(command as object);
      } catch {
        // The channel is already closing: the kill below covers it.
      }
      const timer = setTimeout(() => this.process.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await this.exited;
      clearTimeout(timer);
    }
  }
}
