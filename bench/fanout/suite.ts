/**
 * The fan-out suite: one channel, many SSE clients, every server variant measured in the same run, each
 * in its own process with the load generator in another. `FANOUT_SERVERS=bare,ours-pipe` runs a subset;
 * `FANOUT_ROUNDS=<n>` changes the number of rounds (default 3);
 * `FANOUT_CPU_PROF=<dir>` writes V8 CPU profiles of each server and load process there
 * (`server-<name>-<round>.cpuprofile`, `load-<name>-<round>.cpuprofile`).
 */
import type { Section } from '../report.js';
import { median, medianRatio } from '../measure.js';
import { formatCount, formatRate, progress } from '../report.js';
import type { BenchSuite } from '../suite.js';
import { measureServer, type ServerMeasurement, type ServerVariant } from './driver.js';
import { DEFAULT_SETTINGS, type FanoutSettings } from './protocol.js';

export const FANOUT_SERVERS: ServerVariant[] = [
  { name: 'bare', label: 'bare `node:http`', module: './servers/bare.js' },
  { name: 'nest-subject', label: 'Nest `@Sse` + `Subject`', module: './servers/nest-subject.js' },
  { name: 'better-sse', label: 'better-sse `Channel`', module: './servers/better-sse.js' },
  { name: 'ours-sse', label: 'ours: `@Sse` + `EricSseStreams.watchEvents`', module: './servers/ours-sse.js' },
  { name: 'ours-pipe', label: 'ours: fast path `EricSseStreams.pipeWatch`', module: './servers/ours-pipe.js' },
];

/** ours / baseline must reach `ratio`. */
interface Target {
  ours: string;
  baseline: string;
  ratio: number;
}

const TARGETS: Target[] = [
  { ours: 'ours-pipe', baseline: 'better-sse', ratio: 1 },
  { ours: 'ours-pipe', baseline: 'bare', ratio: 0.6 },
  { ours: 'ours-sse', baseline: 'nest-subject', ratio: 1 },
];

const DEFAULT_ROUNDS = 3;

/**
 * The order servers run in within a round: the two sides of each target back to back, so that a change
 * in the machine's other load hits both alike; even rounds run it backwards.
 */
const RUN_ORDER = ['bare', 'better-sse', 'ours-pipe', 'nest-subject', 'ours-sse'];

function runOrder(servers: ServerVariant[], round: number): ServerVariant[] {
  const rank = (variant: ServerVariant): number => RUN_ORDER.indexOf(variant.name);
  const ordered = [...servers].sort((a, b) => rank(a) - rank(b));
  return round % 2 === 0 ? ordered.reverse() : ordered;
}

function selectedServers(): ServerVariant[] {
  const wanted = process.env.FANOUT_SERVERS?.split(',').map((name) => name.trim());
  if (wanted === undefined || wanted.length === 0 || wanted[0] === '') return FANOUT_SERVERS;
  const unknown = wanted.filter((name) => !FANOUT_SERVERS.some((variant) => variant.name === name));
  if (unknown.length > 0) {
    throw new Error(
      `FANOUT_SERVERS: unknown ${unknown.join(', ')}; known: ${FANOUT_SERVERS.map((v) => v.name).join(', ')}`,
    );
  }
  return FANOUT_SERVERS.filter((variant) => wanted.includes(variant.name));
}

/** Node flags for one process of the run: a named CPU profile when `FANOUT_CPU_PROF` asks for them. */
function execArgvFor(processName: string): string[] {
  const dir = process.env.FANOUT_CPU_PROF;
  if (dir === undefined || dir === '') return [];
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${processName}.cpuprofile`];
}

/** A variant's rounds, summarized: medians of the figures, sums of everything that went wrong. */
interface Summary {
  variant: ServerVariant;
  rounds: ServerMeasurement[];
  eventsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  cpuMicrosPerEvent: number;
  missing: number;
  clientsMissing: number;
}

function summarize(variant: ServerVariant, rounds: ServerMeasurement[]): Summary {
  const sum = (pick: (m: ServerMeasurement) => number): number => rounds.reduce((total, m) => total + pick(m), 0);
  return {
    variant,
    rounds,
    eventsPerSecond: median(rounds.map((m) => m.eventsPerSecond)),
    p50Ms: median(rounds.map((m) => m.result.p50Ms)),
    p99Ms: median(rounds.map((m) => m.result.p99Ms)),
    cpuMicrosPerEvent: median(rounds.map((m) => m.serverCpuMicrosPerEvent)),
    missing: sum((m) => m.result.missing),
    clientsMissing: Math.max(...rounds.map((m) => m.result.clientsMissing)),
  };
}

function formatMissing(summary: Summary): string {
  if (summary.missing === 0) return '0';
  return `${formatCount(summary.missing)} (up to ${summary.clientsMissing} clients)`;
}

function formatMs(ms: number): string {
  return Number.isNaN(ms) ? '–' : ms.toFixed(1);
}

/** events/s of `a` / events/s of `b`: the median of the per-round ratios, so drift in machine load cancels out. */
function throughputRatio(a: Summary, b: Summary): number {
  const eventsPerSecond = (m: ServerMeasurement): number => m.eventsPerSecond;
  return medianRatio(a.rounds.map(eventsPerSecond), b.rounds.map(eventsPerSecond));
}

function row(summary: Summary, bare: Summary | undefined): string[] {
  const ratio = bare === undefined ? '–' : `${throughputRatio(summary, bare).toFixed(2)}×`;
  return [
    summary.variant.label,
    formatRate(summary.eventsPerSecond),
    formatMs(summary.p50Ms),
    formatMs(summary.p99Ms),
    formatMissing(summary),
    ratio,
    summary.cpuMicrosPerEvent.toFixed(2),
  ];
}

/** How the figures were taken, anything a reader must not miss (lost, duplicated or cut-off streams), the targets. */
function notes(summaries: Summary[], settings: FanoutSettings, rounds: number): string[] {
  const lines = [
    `${settings.clients} clients on one channel; ${settings.broadcasts} measured broadcasts of a ~100-byte JSON ` +
      `payload after ${settings.warmupBroadcasts} warm-up ones. The driver triggers each broadcast over the ` +
      `server's IPC channel and sends the next once the server has broadcast it and run the microtasks it queued ` +
      `(as fast as the server accepts). events/s = events received by all clients / (last receive − first send); ` +
      `latency = receive time − send time stamped in the payload by the server just before it broadcasts. ` +
      `Bare and better-sse serve from plain \`node:http\`; the Nest servers and ours run on Nest's default ` +
      `platform (Express), ours set up with \`EricSseModule.forRoot\`, each connection getting a fresh listener ` +
      `of its own (\`watchEvents\` / \`pipeWatch\`), removed when it closes. ` +
      `Medians over ${rounds} round(s), the servers taking turns within each round (the two sides of a target back to back); a ratio is the median of the ` +
      `per-round ratios; "missing" sums all rounds. ` +
      `"server CPU µs/event" = the server process's CPU time (user + system, so the kernel's loopback TCP work ` +
      `too) over the measured broadcasts / events received: less sensitive than events/s to other load on the machine.`,
    '',
  ];
  for (const summary of summaries) {
    const problems: string[] = [];
    const total = (pick: (m: ServerMeasurement) => number): number =>
      summary.rounds.reduce((sum, m) => sum + pick(m), 0);
    const warmupMissing = total((m) => m.warmupMissing);
    const duplicates = total((m) => m.result.duplicates);
    const closedEarly = total((m) => m.result.closedEarly);
    const timedOut = total((m) => (m.result.timedOut ? 1 : 0));
    if (warmupMissing > 0) problems.push(`${formatCount(warmupMissing)} warm-up events missing`);
    if (duplicates > 0) problems.push(`${formatCount(duplicates)} duplicate events`);
    if (closedEarly > 0) problems.push(`${closedEarly} streams closed by the server`);
    if (timedOut > 0) problems.push(`in ${timedOut} round(s) events stopped arriving before all were received`);
    if (problems.length > 0) lines.push(`- ⚠️ ${summary.variant.label}: ${problems.join('; ')}`);
  }
  for (const target of TARGETS) {
    const ours = summaries.find((s) => s.variant.name === target.ours);
    const baseline = summaries.find((s) => s.variant.name === target.baseline);
    if (ours === undefined || baseline === undefined) continue;
    const ratio = throughputRatio(ours, baseline);
    const lossless = ours.missing === 0;
    const met = ratio >= target.ratio && lossless;
    lines.push(
      `- ${met ? '✅' : '❌'} ${ours.variant.label} ≥ ${target.ratio}× ${baseline.variant.label}: ` +
        `${ratio.toFixed(2)}×${lossless ? '' : ', but it lost events'} (server CPU per event: ` +
        `${ours.cpuMicrosPerEvent.toFixed(2)} vs ${baseline.cpuMicrosPerEvent.toFixed(2)} µs)`,
    );
  }
  return lines;
}

function roundsToRun(): number {
  const text = process.env.FANOUT_ROUNDS;
  if (text === undefined || text === '') return DEFAULT_ROUNDS;
  const rounds = Number(text);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`FANOUT_ROUNDS: expected a positive integer, got ${text}`);
  return rounds;
}

async function run(): Promise<Section[]> {
  const settings = DEFAULT_SETTINGS;
  const servers = selectedServers();
  const rounds = roundsToRun();
  const measured = new Map<ServerVariant, ServerMeasurement[]>(servers.map((variant) => [variant, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const variant of runOrder(servers, round)) {
      const tag = `${variant.name}-${round}`;
      const measurement = await measureServer(variant, settings, {
        server: execArgvFor(`server-${tag}`),
        load: execArgvFor(`load-${tag}`),
      });
      progress(
        `fanout round ${round}/${rounds} ${variant.name}: ${formatRate(measurement.eventsPerSecond)}, ` +
          `p50 ${formatMs(measurement.result.p50Ms)} ms, missing ${measurement.result.missing}, ` +
          `CPU ${measurement.serverCpuMicrosPerEvent.toFixed(2)} µs/event, ` +
          `connect ${measurement.connectMillis.toFixed(0)} ms, send ${measurement.sendMillis.toFixed(0)} ms`,
      );
      measured.get(variant)?.push(measurement);
    }
  }
  const summaries = servers.map((variant) => summarize(variant, measured.get(variant) ?? []));
  const bare = summaries.find((s) => s.variant.name === 'bare');
  return [
    {
      heading: `Fan-out: ${settings.clients} SSE clients, ${settings.broadcasts} broadcasts`,
      columns: ['server', 'events/s', 'p50 ms', 'p99 ms', 'missing', 'ratio vs bare', 'server CPU µs/event'],
      rows: summaries.map((s) => row(s, bare)),
      notes: notes(summaries, settings, rounds),
    },
  ];
}

export const fanout: BenchSuite = {
  name: 'fanout',
  description:
    'SSE fan-out over HTTP on loopback: many clients on one channel, each server and the load generator in its own process.',
  run,
};
