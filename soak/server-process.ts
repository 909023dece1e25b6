import { fork, type ChildProcess } from 'node:child_process';
import type { ServerCommand, ServerReport, ServerSample } from './protocol.js';

/** The driver's handle on the server process: typed requests with a deadline, and a stop that always ends it. */
export class ServerProcess {
  private readonly child: ChildProcess;
  private readonly inbox: ServerReport[] = [];
  private wake: (() => void) | undefined;
  private exitReason: string | undefined;
  private readonly exited: Promise<void>;

  constructor(modulePath: string) {
    this.child = fork(modulePath, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (report: ServerReport) => {
      this.inbox.push(report);
      this.wake?.();
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        this.exitReason = `the server process exited (code ${code}, signal ${signal})`;
        this.wake?.();
        resolve();
      }),
    );
    process.once('exit', () => this.child.kill('SIGKILL'));
  }

  get alive(): boolean {
    return this.exitReason === undefined;
  }

  async next<K extends ServerReport['kind']>(kind: K, timeoutMs: number): Promise<Extract<ServerReport, { kind: K }>> {
    const deadline = Date.now() + timeoutMs;
    while (this.inbox.length === 0) {
      if (this.exitReason !== undefined) throw new Error(this.exitReason);
      if (Date.now() > deadline) throw new Error(`the server sent no '${kind}' within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    const report = this.inbox.shift() as ServerReport;
    if (report.kind !== kind) throw new Error(`expected '${kind}' from the server, got ${JSON.stringify(report)}`);
    return report as Extract<ServerReport, { kind: K }>;
  }

  async sample(gc = false): Promise<ServerSample> {
    this.send({ kind: 'sample', gc });
    return this.next('sample', 10_000);
  }

  /** Asks the server to shut down cleanly; kills it if it has not exited within 10 s. */
  async stop(): Promise<void> {
    if (!this.alive) return;
    this.send({ kind: 'shutdown' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }

  private send(command: ServerCommand): void {
    if (this.exitReason !== undefined) throw new Error(this.exitReason);
    this.child.send(command);
  }
}
