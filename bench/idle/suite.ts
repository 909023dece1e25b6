/**
 * Suite `idle`: what idle SSE clients cost the server. 10,000 clients hold a stream open for 10 s with
 * nothing sent (server CPU time in that window, target ≤ 1 % of one core), and server RSS per connected
 * client at 1,000 and 5,000 clients; ours (the REST fast-path stream endpoint, in memory) beside a bare
 * `node:http` SSE server holding the same clients in the same run. Each server runs in its own process,
 * the clients in another.
 */
import { fileURLToPath } from 'node:url';
import { collectGarbage, sleep } from '../measure.js';
import { formatBytes, formatCount, formatPercent, progress, type Section } from '../report.js';
import type { BenchSuite } from '../suite.js';
import { IdleChild } from './child.js';
import type { LoadCommand, LoadReport, ServerCommand, ServerReport } from './protocol.js';

const STEPS = [1000, 5000, 10_000];
const WINDOW_MS = 10_000;
/** The fast path's default keep-alive interval: the window is placed between two beats. */
const KEEP_ALIVE_MS = 15_000;
const CPU_TARGET = 0.01;

type Server = IdleChild<ServerCommand, ServerReport>;
type Sample = Extract<ServerReport, { kind: 'sample' }>;

interface Variant {
  name: string;
  module: string;
  /** Whether the server sends keep-alive comments (ours does, every 15 s). */
  keepAlive: boolean;
}

const VARIANTS: Variant[] = [
  { name: 'ours (REST stream endpoint, in memory)', module: 'ours-server.js', keepAlive: true },
  { name: 'bare node:http', module: 'bare-server.js', keepAlive: false },
];

interface Result {
  variant: Variant;
  empty: Sample;
  perClient: Map<number, { rss: number; heap: number }>;
  open: number;
  window: Interval;
  /** The 1.5 s around the keep-alive beat just before the window. */
  beat: Interval;
  /** From the last client connected to the end of the window: beats and GC included. */
  whole: Interval;
  /** Whether V8's catch-up collection after the connect burst happened before the window. */
  caughtUp: boolean;
  bytesInWindow: number;
}

/** Server CPU over some wall time. */
interface Interval {
  wallMs: number;
  cpuMicros: number;
  gcMicros: number;
}

function between(from: Sample, to: Sample, wallMs: number): Interval {
  return { wallMs, cpuMicros: to.cpuMicros - from.cpuMicros, gcMicros: to.gcMicros - from.gcMicros };
}

function share(interval: Interval): number {
  return interval.cpuMicros / 1000 / interval.wallMs;
}

function modulePath(name: string): string {
  return fileURLToPath(new URL(`./${name}`, import.meta.url));
}

function sample(server: Server, gc: boolean): Promise<Sample> {
  return server.request({ kind: 'sample', gc }, 'sample', 30_000);
}

async function streamsOpen(server: Server, count: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await sample(server, false)).openStreams < count) {
    if (Date.now() > deadline) throw new Error(`the server did not see ${count} open streams within 30 s`);
    await sleep(100);
  }
}

/** Quiet: a second with less server CPU than this. */
const QUIET_MICROS_PER_SECOND = 20_000;
const SETTLE_LIMIT_MS = 45_000;

/**
 * Waits, after the last connect, until V8 has caught up: allocation stopping makes it run a major
 * collection of the heap the connect burst grew (by itself, within a minute or so; over a second of CPU
 * for ours at 10,000 clients). That is the cost of connecting, not of idling, so the window opens after
 * it: once a major GC happened and three seconds in a row were quiet, or after 45 s in any case.
 */
async function settle(server: Server): Promise<boolean> {
  const started = Date.now();
  const first = await sample(server, false);
  let previous = first;
  let quiet = 0;
  let caughtUp = false;
  while (Date.now() - started < SETTLE_LIMIT_MS) {
    await sleep(1000);
    const current = await sample(server, false);
    quiet = current.cpuMicros - previous.cpuMicros < QUIET_MICROS_PER_SECOND ? quiet + 1 : 0;
    caughtUp ||= current.majorGcs > first.majorGcs;
    previous = current;
    if (caughtUp && quiet >= 3) break;
  }
  return caughtUp;
}

async function measure(variant: Variant): Promise<Result> {
  const server: Server = new IdleChild(variant.name, modulePath(variant.module));
  const load = new IdleChild<LoadCommand, LoadReport>('clients', modulePath('load.js'));
  try {
    const { port, pathTemplate } = await server.next('ready', 60_000);
    await load.next('ready', 30_000);
    const empty = await sample(server, true);
    const perClient = new Map<number, { rss: number; heap: number }>();
    let connected = 0;
    let firstOpenAt = 0;
    for (const target of STEPS) {
      await server.request({ kind: 'prepare', count: target }, 'prepared', 60_000);
      const done = await load.request(
        { kind: 'connect', port, pathTemplate, from: connected, to: target },
        'connected',
        120_000,
      );
      firstOpenAt ||= done.firstOpenAt;
      connected = target;
      await streamsOpen(server, target);
      progress(`idle: ${variant.name}: ${formatCount(target)} clients open`);
      if (target === STEPS[STEPS.length - 1]) break;
      const held = await sample(server, true);
      perClient.set(target, {
        rss: (held.rssBytes - empty.rssBytes) / target,
        heap: (held.heapUsedBytes - empty.heapUsedBytes) / target,
      });
    }
    const allConnected = await sample(server, false);
    const allConnectedAt = performance.now();
    const caughtUp = await settle(server);

    // Keep-alive beats go out every 15 s from the first stream (ours): the window opens just after one
    // and closes before the next. The bare server keeps the same schedule.
    const nextBeat = firstOpenAt + KEEP_ALIVE_MS * Math.ceil((Date.now() + 600 - firstOpenAt) / KEEP_ALIVE_MS);
    await sleep(nextBeat - 500 - Date.now());
    const beatStart = await sample(server, false);
    const beatStartedAt = performance.now();
    await sleep(nextBeat + 1000 - Date.now());
    await load.request({ kind: 'mark' }, 'marked', 10_000);
    const windowStart = await sample(server, false);
    const windowStartedAt = performance.now();
    const beat = between(beatStart, windowStart, windowStartedAt - beatStartedAt);
    const perSecond: number[] = [];
    let previous = windowStart;
    for (let second = 1; second <= WINDOW_MS / 1000; second++) {
      await sleep(windowStartedAt + second * 1000 - performance.now());
      const current = await sample(server, false);
      perSecond.push(current.cpuMicros - previous.cpuMicros);
      previous = current;
    }
    const windowEnd = previous;
    const windowEndedAt = performance.now();
    progress(
      `idle: ${variant.name}: CPU per second in the window (ms): ${perSecond.map((m) => (m / 1000).toFixed(1)).join(' ')}`,
    );
    const { bytes } = await load.request({ kind: 'bytes' }, 'bytes', 10_000);
    await load.request({ kind: 'close-all' }, 'closed', 60_000);
    return {
      variant,
      empty,
      perClient,
      open: windowEnd.openStreams,
      window: between(windowStart, windowEnd, windowEndedAt - windowStartedAt),
      beat,
      whole: between(allConnected, windowEnd, windowEndedAt - allConnectedAt),
      caughtUp,
      bytesInWindow: bytes,
    };
  } finally {
    await load.stop({ kind: 'shutdown' });
    await server.stop({ kind: 'shutdown' });
  }
}

function ms(micros: number): string {
  return `${(micros / 1000).toFixed(1)} ms`;
}

export const idle: BenchSuite = {
  name: 'idle',
  description:
    'Idle SSE clients: server CPU while 10,000 clients hold a stream for 10 s with nothing sent, and server RSS per ' +
    'connected client at 1,000 and 5,000 clients; ours (REST fast-path stream endpoint, in memory) beside bare ' +
    '`node:http`, each server in its own process, the clients in another.',
  async run(): Promise<Section[]> {
    const results: Result[] = [];
    for (const variant of VARIANTS) {
      collectGarbage();
      progress(`idle: ${variant.name}`);
      results.push(await measure(variant));
    }
    const [ours, bare] = results as [Result, Result];
    const idleSection: Section = {
      heading: `Idle cost: ${formatCount(STEPS[STEPS.length - 1])} SSE clients connected, nothing sent, ${WINDOW_MS / 1000} s`,
      columns: [
        'server',
        'clients open',
        `server CPU in ${WINDOW_MS / 1000} s`,
        'share of one core',
        'keep-alive beat',
        'last connect → end of window',
      ],
      rows: results.map((r) => [
        r.variant.name,
        formatCount(r.open),
        `${ms(r.window.cpuMicros)} (GC ${ms(r.window.gcMicros)})`,
        r === ours
          ? `${formatPercent(share(r.window))} ${share(r.window) <= CPU_TARGET ? '✅' : '❌'} (target ≤ ${formatPercent(CPU_TARGET)})`
          : formatPercent(share(r.window)),
        r.variant.keepAlive ? ms(r.beat.cpuMicros) : 'none sent',
        `${formatPercent(share(r.whole))} of a core over ${(r.whole.wallMs / 1000).toFixed(0)} s${r.caughtUp ? '' : ' (no GC catch-up)'}`,
      ]),
      notes: [
        "Server CPU: the server process's user + system time (`process.cpuUsage()`, every thread), the clients running in",
        `another process; GC: the collections' pauses within it. The ${WINDOW_MS / 1000} s window opens 1 s after a keep-alive beat`,
        `and closes before the next: ours writes a comment to every idle stream each ${KEEP_ALIVE_MS / 1000} s (one shared timer), which does`,
        `not fire in a ${WINDOW_MS / 1000} s window (the clients received ${formatCount(ours.bytesInWindow)} bytes in it). The beat itself is measured`,
        `over the 1.5 s around it: ${ms(ours.beat.cpuMicros)} for ${formatCount(ours.open)} streams, ${(ours.beat.cpuMicros / ours.open).toFixed(1)} µs each,`,
        `${formatPercent(ours.beat.cpuMicros / 1000 / KEEP_ALIVE_MS)} of a core on average.`,
        'Before the window, each server is left to settle: once allocation stops after the connect burst V8 runs a major',
        'collection of the grown heap by itself (within a minute; a second or more of CPU for ours at 10,000 clients). The',
        'window opens after that collection and three quiet seconds (or after 45 s); the last column covers it all, from the',
        `last connect on: catch-up GC, beats and idling. Bare node:http: ${formatPercent(share(bare.window))} in its window.`,
      ],
    };
    const memorySection: Section = {
      heading: 'Server memory per connected client',
      columns: [
        'server',
        ...STEPS.slice(0, -1).map((n) => `RSS / client at ${formatCount(n)}`),
        ...STEPS.slice(0, -1).map((n) => `heap / client at ${formatCount(n)}`),
        'RSS with no client',
      ],
      rows: results.map((r) => [
        r.variant.name,
        ...STEPS.slice(0, -1).map((n) => formatBytes(r.perClient.get(n)?.rss ?? NaN)),
        ...STEPS.slice(0, -1).map((n) => formatBytes(r.perClient.get(n)?.heap ?? NaN)),
        formatBytes(r.empty.rssBytes),
      ]),
      notes: [
        '(RSS with n clients − RSS with none) / n, each after a full GC in the server. Ours counts the whole client: its',
        'listener (created before it streams, as after a subscribe), queue and stream, and the socket; bare counts the socket',
        `and the response. At ${formatCount(STEPS[1])} clients ours uses ${(
          (ours.perClient.get(STEPS[1])?.rss ?? NaN) / (bare.perClient.get(STEPS[1])?.rss ?? NaN)
        ).toFixed(2)}× the RSS per client of bare node:http.`,
      ],
    };
    return [idleSection, memorySection];
  },
};
