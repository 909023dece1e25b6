/**
 * Measures one application run as several instances (server processes) on one Redis: the load generator
 * splits its clients across them, every broadcast is made on the first, and the figures are those of
 * `measureServer`, CPU being summed over the instances (Redis's own CPU reported beside it).
 */
import { fileURLToPath } from 'node:url';
import { Child } from '../fanout/child.js';
import type {
  FanoutSettings,
  LoadCommand,
  LoadReport,
  LoadResult,
  ServerCommand,
  ServerReport,
} from '../fanout/protocol.js';

export interface InstancesMeasurement {
  result: LoadResult;
  eventsPerSecond: number;
  warmupMissing: number;
  /** Server CPU time of all instances per received event, in microseconds. */
  serverCpuMicrosPerEvent: number;
  /** Redis CPU time per received event, in microseconds. */
  redisCpuMicrosPerEvent: number;
}

const STARTUP_TIMEOUT_MS = 30_000;
const CONNECT_TIMEOUT_MS = 60_000;
const BROADCAST_TIMEOUT_MS = 30_000;
const RECEIVE_TIMEOUT_MS = 180_000;

type ServerChild = Child<ServerCommand, ServerReport>;

function modulePath(relative: string): string {
  return fileURLToPath(new URL(relative, import.meta.url));
}

/** Node flags for one process: a named CPU profile when `REDIS_BENCH_CPU_PROF=<dir>` asks for them. */
function execArgvFor(processName: string): string[] {
  const dir = process.env.REDIS_BENCH_CPU_PROF;
  if (dir === undefined || dir === '') return [];
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${processName}-${Date.now()}.cpuprofile`];
}

/**
 * Broadcasts `from` .. `to - 1` one at a time, each once the previous was accepted and, with `intervalMs`,
 * no sooner than that after the previous one was sent; returns the send time of the first.
 */
async function broadcastRange(server: ServerChild, from: number, to: number, intervalMs = 0): Promise<number> {
  let firstSentAt = NaN;
  let due = performance.now();
  for (let seq = from; seq < to; seq++) {
    if (intervalMs > 0) {
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      due = Math.max(due + intervalMs, performance.now());
    }
    server.send({ kind: 'broadcast', seq });
    const ack = await server.expect('broadcasted', BROADCAST_TIMEOUT_MS);
    if (ack.seq !== seq) throw new Error(`${server.name}: acknowledged broadcast ${ack.seq}, expected ${seq}`);
    if (seq === from) firstSentAt = ack.sentAt;
  }
  return firstSentAt;
}

async function cpuOf(servers: ServerChild[]): Promise<number> {
  let total = 0;
  for (const server of servers) {
    server.send({ kind: 'cpu-usage' });
    total += (await server.expect('cpu-usage', BROADCAST_TIMEOUT_MS)).micros;
  }
  return total;
}

/** `instances` server processes of `serverModule` (environment inherited: REDIS_URL, KEY_PREFIX). */
export async function measureInstances(
  name: string,
  serverModule: string,
  instances: number,
  settings: FanoutSettings,
  redisCpuMicros: () => Promise<number>,
  /** 0: each broadcast as soon as the previous was accepted; else at most one per this many ms. */
  intervalMs = 0,
): Promise<InstancesMeasurement> {
  const servers: ServerChild[] = [];
  let load: Child<LoadCommand, LoadReport> | undefined;
  try {
    for (let i = 0; i < instances; i++) {
      servers.push(new Child(`server ${name}-${i}`, modulePath(serverModule), execArgvFor(`server-${name}-${i}`)));
    }
    const ports: number[] = [];
    for (const server of servers) ports.push((await server.expect('listening', STARTUP_TIMEOUT_MS)).port);
    load = new Child('load generator', modulePath('../fanout/load.js'));
    load.send({ kind: 'connect', port: ports[0], ports, settings });
    await load.expect('connected', CONNECT_TIMEOUT_MS);
    // Client i streams from instance i % instances.
    servers.forEach((server, i) =>
      server.send({ kind: 'await-subscribers', count: Math.ceil((settings.clients - i) / instances) }),
    );
    for (const server of servers) await server.expect('subscribers', CONNECT_TIMEOUT_MS);

    const [first] = servers;
    await broadcastRange(first, 0, settings.warmupBroadcasts, intervalMs);
    load.send({ kind: 'await-warmup' });
    const { missing: warmupMissing } = await load.expect('warm', RECEIVE_TIMEOUT_MS);

    const cpuBefore = await cpuOf(servers);
    const redisBefore = await redisCpuMicros();
    const firstSentAt = await broadcastRange(
      first,
      settings.warmupBroadcasts,
      settings.warmupBroadcasts + settings.broadcasts,
      intervalMs,
    );
    load.send({ kind: 'await-measured' });
    const { result } = await load.expect('measured', RECEIVE_TIMEOUT_MS);
    const cpuMicros = (await cpuOf(servers)) - cpuBefore;
    const redisMicros = (await redisCpuMicros()) - redisBefore;
    return {
      result,
      eventsPerSecond: result.received / ((result.lastReceivedAt - firstSentAt) / 1000),
      warmupMissing,
      serverCpuMicrosPerEvent: cpuMicros / result.received,
      redisCpuMicrosPerEvent: redisMicros / result.received,
    };
  } finally {
    await load?.stop({ kind: 'shutdown' });
    for (const server of servers) await server.stop({ kind: 'shutdown' });
  }
}
