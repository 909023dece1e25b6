/**
 * The Redis suite: the fan-out benchmark (1,000 SSE clients on one channel, 200 broadcasts) with the app
 * on Redis, as one instance and as two instances sharing the clients, beside the same app in memory, all
 * measured in the same run with the `fanout` suite's load generator, at two loads: broadcasts as fast as
 * accepted, and paced at one rate for every setup. Needs
 * `redis-server` (started here, on a free port, without persistence). `REDIS_BENCH_ROUNDS=<n>` changes the
 * number of rounds (default 3).
 */
import { Redis } from 'ioredis';
import { median, medianRatio } from '../measure.js';
import { formatCount, formatRate, progress, type Section } from '../report.js';
import type { BenchSuite } from '../suite.js';
import { DEFAULT_SETTINGS, type FanoutSettings } from '../fanout/protocol.js';
import { measureInstances, type InstancesMeasurement } from './driver.js';
import { REDIS_SERVER_BINARY, RedisServer } from './redis-server.js';

interface Setup {
  name: string;
  label: string;
  module: string;
  instances: number;
  onRedis: boolean;
  /** The module option `history: false` (no event ids, no replay) instead of the default history. */
  withoutHistory?: boolean;
}

const SETUPS: Setup[] = [
  {
    name: 'memory',
    label: 'in memory, 1 instance',
    module: '../fanout/servers/ours-pipe.js',
    instances: 1,
    onRedis: false,
  },
  { name: 'redis-1', label: 'Redis, 1 instance', module: './servers/ours-redis.js', instances: 1, onRedis: true },
  {
    name: 'redis-2',
    label: 'Redis, 2 instances (clients split, broadcasts on the first)',
    module: './servers/ours-redis.js',
    instances: 2,
    onRedis: true,
  },
  {
    name: 'redis-2-no-ids',
    label: 'Redis, 2 instances, `history: false` (no event ids, no replay)',
    module: './servers/ours-redis.js',
    instances: 2,
    onRedis: true,
    withoutHistory: true,
  },
];

/** How broadcasts are offered: as fast as the first instance accepts them, or at one fixed rate for all. */
interface Load {
  name: string;
  heading: string;
  intervalMs: number;
}

const LOADS: Load[] = [
  { name: 'max', heading: 'broadcasts as fast as accepted', intervalMs: 0 },
  { name: 'paced', heading: 'paced at 100 broadcasts/s (100k events/s) for every setup', intervalMs: 10 },
];

/** The cross-instance p99 must stay within this many times the in-memory p99, at equal load. */
const P99_TARGET_RATIO = 2;
const DEFAULT_ROUNDS = 3;

function roundsToRun(): number {
  const text = process.env.REDIS_BENCH_ROUNDS;
  if (text === undefined || text === '') return DEFAULT_ROUNDS;
  const rounds = Number(text);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`REDIS_BENCH_ROUNDS: expected a positive integer, got ${text}`);
  return rounds;
}

interface Summary {
  setup: Setup;
  rounds: InstancesMeasurement[];
  eventsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  serverCpu: number;
  redisCpu: number;
  missing: number;
  duplicates: number;
  warmupMissing: number;
}

function summarize(setup: Setup, rounds: InstancesMeasurement[]): Summary {
  const sum = (pick: (m: InstancesMeasurement) => number): number => rounds.reduce((total, m) => total + pick(m), 0);
  return {
    setup,
    rounds,
    eventsPerSecond: median(rounds.map((m) => m.eventsPerSecond)),
    p50Ms: median(rounds.map((m) => m.result.p50Ms)),
    p99Ms: median(rounds.map((m) => m.result.p99Ms)),
    serverCpu: median(rounds.map((m) => m.serverCpuMicrosPerEvent)),
    redisCpu: median(rounds.map((m) => m.redisCpuMicrosPerEvent)),
    missing: sum((m) => m.result.missing),
    duplicates: sum((m) => m.result.duplicates),
    warmupMissing: sum((m) => m.warmupMissing),
  };
}

/** Redis's CPU time so far (user + system), in microseconds, read with INFO. */
async function redisCpuReader(url: string): Promise<{ read: () => Promise<number>; close: () => void }> {
  const client = new Redis(url);
  const read = async (): Promise<number> => {
    const info = String(await client.info('cpu'));
    const seconds = (field: string): number => Number(new RegExp(`${field}:([\\d.]+)`).exec(info)?.[1] ?? NaN);
    return (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1e6;
  };
  return { read, close: () => client.disconnect() };
}

function notes(summaries: Summary[], settings: FanoutSettings, rounds: number, load: Load): string[] {
  const pacing =
    load.intervalMs === 0
      ? `each broadcast made once the previous was accepted, as in the \`fanout\` suite. A broadcast is ` +
        `accepted once the instance making it has written it to its own clients: with two instances that is ` +
        `half of them, so this load is about twice as high for two instances as for one, and the figures ` +
        `measure queueing on a saturated machine as much as latency`
      : `one broadcast every ${load.intervalMs} ms (or once the previous was accepted, if later): the same load ` +
        `for every setup, which each sustains on an otherwise idle machine (events/s below 100k means it fell ` +
        `behind in that run): latency at equal load`;
  const lines = [
    `${settings.clients} SSE clients on one channel, ${settings.broadcasts} measured broadcasts of a ~100-byte payload ` +
      `after ${settings.warmupBroadcasts} warm-up ones; ${pacing}. Latency = receive time − send time stamped just ` +
      `before broadcasting. With two instances, client i streams from instance i mod 2 and every broadcast is made ` +
      `on the first: half the events cross from one instance to the other through Redis. "server CPU" sums the ` +
      `instances; "Redis CPU" is redis-server's own. Medians of ${rounds} rounds, setups taking turns; "missing" ` +
      `sums all rounds. All processes (load generator, instances, redis-server) share the machine's cores.`,
    '',
  ];
  for (const summary of summaries) {
    const problems: string[] = [];
    if (summary.warmupMissing > 0) problems.push(`${formatCount(summary.warmupMissing)} warm-up events missing`);
    if (summary.duplicates > 0) problems.push(`${formatCount(summary.duplicates)} duplicate events`);
    if (problems.length > 0) lines.push(`- ⚠️ ${summary.setup.label}: ${problems.join('; ')}`);
  }
  const memory = summaries.find((s) => s.setup.name === 'memory');
  if (memory === undefined) return lines;
  for (const cross of summaries.filter((s) => s.setup.instances > 1)) lines.push(comparisonLine(cross, memory, load));
  return lines;
}

/** How a setup of several instances compares with the app in memory: the p99 ratio, against the target when paced. */
function comparisonLine(cross: Summary, memory: Summary, load: Load): string {
  // As everywhere in the bench: the median of the per-round ratios (the setups take turns within a round).
  const ratio = medianRatio(
    cross.rounds.map((m) => m.result.p99Ms),
    memory.rounds.map((m) => m.result.p99Ms),
  );
  const comparison =
    `${cross.setup.label}: cross-instance p99 ${ratio.toFixed(2)}× the in-memory p99 (median of the per-round ratios; medians ` +
    `${cross.p99Ms.toFixed(1)} ms vs ${memory.p99Ms.toFixed(1)} ms)${cross.missing === 0 ? '' : ', but events were lost'}`;
  if (load.intervalMs === 0) return `- ${comparison}; at equal load, see the paced table.`;
  const met = ratio <= P99_TARGET_RATIO && cross.missing === 0;
  return `- ${met ? '✅' : '❌'} target ≤ ${P99_TARGET_RATIO}×: ${comparison}`;
}

function formatMs(ms: number): string {
  return Number.isNaN(ms) ? '–' : ms.toFixed(1);
}

async function run(): Promise<Section[]> {
  const settings = DEFAULT_SETTINGS;
  const heading = (load: Load): string =>
    `Fan-out on Redis: ${settings.clients} SSE clients, ${settings.broadcasts} broadcasts, ${load.heading}`;
  if (REDIS_SERVER_BINARY === undefined) {
    return [
      {
        heading: heading(LOADS[0]),
        columns: ['setup'],
        rows: [],
        notes: ['Skipped: redis-server not found (install the redis-server package).'],
      },
    ];
  }
  const rounds = roundsToRun();
  const server = await RedisServer.start();
  const cpu = await redisCpuReader(server.url);
  const measured = new Map<string, InstancesMeasurement[]>();
  const key = (load: Load, setup: Setup): string => `${load.name}/${setup.name}`;
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const load of LOADS) {
        for (const setup of SETUPS) {
          // Children inherit the environment: a fresh key prefix per measurement, so none sees another's listeners.
          process.env.REDIS_URL = server.url;
          process.env.KEY_PREFIX = `bench-${load.name}-${setup.name}-${round}:`;
          process.env.ERIC_HISTORY = setup.withoutHistory === true ? 'off' : '';
          const m = await measureInstances(
            setup.name,
            setup.module,
            setup.instances,
            settings,
            cpu.read,
            load.intervalMs,
          );
          progress(
            `redis round ${round}/${rounds} ${load.name} ${setup.name}: ${formatRate(m.eventsPerSecond)}, ` +
              `p50 ${formatMs(m.result.p50Ms)} ms, p99 ${formatMs(m.result.p99Ms)} ms, missing ${m.result.missing}, ` +
              `server CPU ${m.serverCpuMicrosPerEvent.toFixed(2)} µs/event`,
          );
          const list = measured.get(key(load, setup)) ?? [];
          list.push(m);
          measured.set(key(load, setup), list);
        }
      }
    }
  } finally {
    cpu.close();
    await server.dispose();
  }
  return LOADS.map((load) => {
    const summaries = SETUPS.map((setup) => summarize(setup, measured.get(key(load, setup)) ?? []));
    return {
      heading: heading(load),
      columns: ['setup', 'events/s', 'p50 ms', 'p99 ms', 'missing', 'server CPU µs/event', 'Redis CPU µs/event'],
      rows: summaries.map((s) => [
        s.setup.label,
        formatRate(s.eventsPerSecond),
        formatMs(s.p50Ms),
        formatMs(s.p99Ms),
        s.missing === 0 ? '0' : formatCount(s.missing),
        s.serverCpu.toFixed(2),
        s.setup.onRedis ? s.redisCpu.toFixed(2) : '–',
      ]),
      notes: notes(summaries, settings, rounds, load),
    };
  });
}

export const redis: BenchSuite = {
  name: 'redis',
  description:
    'SSE fan-out with the app on Redis (one instance, two instances sharing the clients) beside the app in memory.',
  run,
};
