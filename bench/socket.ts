/**
 * The socket suite: broadcast commands per second over the eric socket protocol, one connection per
 * command from `CONCURRENCY` concurrent clients, against our `SocketServer` (an `SSEChannel` with
 * `LISTENERS` listeners) and, in the same run, a bare `node:net` server that only answers `ack`. The
 * servers run in one child process, the load in another. `SOCKET_ROUNDS=<n>` and `SOCKET_ROUND_MS=<ms>`
 * change the rounds; `SOCKET_CPU_PROF=<dir>` writes a V8 CPU profile of the servers' process there.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pythonJsonDumps } from '../src/servers/socket/python-json.js';
import { alternateRounds, median, medianRatio } from './measure.js';
import { formatCount, formatRate, formatRatio, progress } from './report.js';
import {
  CONCURRENCY,
  LISTENERS,
  type LoadCommand,
  type LoadReport,
  type ServerName,
  type ServersCommand,
  type ServersReport,
} from './socket/protocol.js';
import type { BenchSuite } from './suite.js';

const TARGET = 0.8;
const ROUNDS = { warmup: 1, measured: Number(process.env.SOCKET_ROUNDS ?? 5) };
const ROUND_MS = Number(process.env.SOCKET_ROUND_MS ?? 1500);
const REPLY_TIMEOUT_MS = ROUND_MS + 30_000;

export const socket: BenchSuite = {
  name: 'socket',
  description:
    `Broadcast commands/s over the eric socket protocol: ${CONCURRENCY} concurrent clients, one connection per command, ` +
    `against our \`SocketServer\` (an \`SSEChannel\` with ${LISTENERS} listeners) beside a bare \`node:net\` server that answers \`ack\`.`,
  async run() {
    const profileDir = process.env.SOCKET_CPU_PROF;
    const servers = new Child<ServersCommand, ServersReport>(
      'socket servers',
      'servers.js',
      profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
    );
    const load = new Child<LoadCommand, LoadReport>('socket load', 'load.js');
    try {
      const { paths, channelId } = await servers.expect('ready', 30_000);
      await load.expect('ready', 30_000);
      const command = pythonJsonDumps({ v: 'b', c: channelId, t: 'tick', p: { n: 1, text: 'hello' } });
      const cpuPerCommand: Record<ServerName, number[]> = { ours: [], bare: [] };
      const cpuNow = async (): Promise<number> => {
        servers.send({ kind: 'cpu' });
        return (await servers.expect('cpu', 30_000)).micros;
      };
      const measure = async (name: ServerName): Promise<number> => {
        if (name === 'ours') {
          servers.send({ kind: 'reset' });
          await servers.expect('reset', 30_000);
        }
        const cpuBefore = await cpuNow();
        load.send({ kind: 'run', path: paths[name], command, durationMs: ROUND_MS });
        const result = await load.expect('result', REPLY_TIMEOUT_MS);
        cpuPerCommand[name].push(((await cpuNow()) - cpuBefore) / result.commands);
        if (result.unexpected > 0) {
          throw new Error(`${name}: ${result.unexpected} unexpected answers, e.g. ${JSON.stringify(result.sample)}`);
        }
        return result.commands / result.seconds;
      };
      const samples = await alternateRounds(
        { ours: () => measure('ours'), bare: () => measure('bare') },
        ROUNDS,
        (label, rates) => progress(`socket ${label}: ours ${formatRate(rates.ours)}, bare ${formatRate(rates.bare)}`),
      );
      // The first samples of each are the warm-up round's.
      const cpu = (name: ServerName): number[] => cpuPerCommand[name].slice(ROUNDS.warmup);
      return [
        {
          heading: `Broadcast commands, ${CONCURRENCY} concurrent clients, one connection each`,
          columns: ['server', 'commands/s', 'ours / bare', 'server CPU per command', 'bare / ours'],
          rows: [
            [
              'bare `node:net`, answers `ack`',
              formatRate(median(samples.bare)),
              '',
              formatMicros(median(cpu('bare'))),
              '',
            ],
            [
              `ours: \`SocketServer\`, \`b\` to ${LISTENERS} listeners`,
              formatRate(median(samples.ours)),
              formatRatio(medianRatio(samples.ours, samples.bare), TARGET),
              formatMicros(median(cpu('ours'))),
              formatRatio(medianRatio(cpu('bare'), cpu('ours'))),
            ],
          ],
          notes: [
            `${ROUNDS.measured} rounds of ${formatCount(ROUND_MS)} ms each after ${ROUNDS.warmup} warm-up round; the command is ` +
              `\`${command}\`. Nobody streams the listeners; they get fresh queues before each round of ours.`,
            "Server CPU per command is the CPU time (user + system) of the servers' process during a round over the " +
              'commands answered: the cost that throughput on a busy machine comes down to.',
          ],
        },
      ];
    } finally {
      await Promise.all([load.stop({ kind: 'stop' }), servers.stop({ kind: 'stop' })]);
    }
  },
};

function formatMicros(micros: number): string {
  return `${micros.toFixed(1)} µs`;
}

/** One child process of the suite, spoken to over IPC. */
class Child<Command, Report extends { kind: string }> {
  private readonly process: ChildProcess;
  private readonly inbox: Report[] = [];
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private readonly exited: Promise<void>;

  constructor(
    private readonly name: string,
    module: string,
    execArgv: string[] = [],
  ) {
    const entry = fileURLToPath(new URL(`./socket/${module}`, import.meta.url));
    // stdout holds the report: whatever a child prints goes to stderr.
    this.process = fork(entry, [], { execArgv, stdio: ['ignore', 2, 2, 'ipc'] });
    this.process.on('message', (report: Report) => {
      this.inbox.push(report);
      this.wake?.();
    });
    this.exited = new Promise((resolve) =>
      this.process.once('exit', (code, signal) => {
        this.failure ??= new Error(`${name} exited (code ${code}, signal ${signal})`);
        this.wake?.();
        resolve();
      }),
    );
  }

  send(command: Command): void {
    this.process.send(command as object);
  }

  async expect<K extends Report['kind']>(kind: K, timeoutMs: number): Promise<Extract<Report, { kind: K }>> {
    const deadline = Date.now() + timeoutMs;
    while (this.inbox.length === 0) {
      if (this.failure !== undefined) throw this.failure;
      if (Date.now() >= deadline) throw new Error(`${this.name}: no '${kind}' within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.wake = () => {
          clearTimeout(timer);
          this.wake = undefined;
          resolve();
        };
      });
    }
    const report = this.inbox.shift() as Report;
    if (report.kind !== kind) throw new Error(`${this.name}: expected '${kind}', got ${JSON.stringify(report)}`);
    return report as Extract<Report, { kind: K }>;
  }

  async stop(command: Command): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null && this.process.connected) {
      this.process.send(command as object);
    }
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}
