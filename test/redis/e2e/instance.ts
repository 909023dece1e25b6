import { fork, type ChildProcess } from 'node:child_process';
import { killOnExit } from '../../../bench/kill-on-exit.js';
import type { InstanceCommand, InstanceReport } from './protocol.js';

const START_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 10_000;

/** One application instance in its own process. */
export class AppInstance {
  /** What the instance reported as unhandled (rejections, exceptions): a test expects none. */
  readonly unhandled: string[] = [];
  private readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly name: string,
    readonly port: number,
    readonly socketPath: string,
  ) {
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null) resolve(child.exitCode);
      child.once('exit', (code) => {
        this.exitCode = code;
        resolve(code);
      });
    });
    child.on('message', (report: InstanceReport) => {
      if (report.kind === 'unhandled') this.unhandled.push(report.message);
    });
  }

  static start(
    entry: string,
    name: string,
    env: { REDIS_URL: string; KEY_PREFIX: string; SOCKET_PATH: string },
  ): Promise<AppInstance> {
    const child = fork(entry, [], {
      env: { PATH: process.env.PATH, INSTANCE_LOGS: process.env.INSTANCE_LOGS, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    killOnExit(child);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${name} did not start within ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      const early: string[] = [];
      const onMessage = (report: InstanceReport): void => {
        if (report.kind === 'unhandled') {
          early.push(report.message);
          return;
        }
        clearTimeout(timer);
        child.off('exit', onExit);
        child.off('message', onMessage);
        const instance = new AppInstance(child, name, report.port, env.SOCKET_PATH);
        instance.unhandled.push(...early);
        resolve(instance);
      };
      const onExit = (code: number | null): void => {
        clearTimeout(timer);
        reject(new Error(`${name} exited with code ${code} before listening: ${early.join('; ')}`));
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}/eric-sse`;
  }

  get alive(): boolean {
    return this.exitCode === undefined;
  }

  /** `app.close()`, then waits for the process to exit by itself; resolves with its exit code. */
  async close(): Promise<number | null> {
    if (!this.alive) return this.exitCode ?? null;
    const command: InstanceCommand = { kind: 'close' };
    this.child.send(command);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), EXIT_TIMEOUT_MS);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}
