/**
 * Measures one server variant: starts its process, has the load generator connect every client, waits
 * until the server counts them all subscribed, runs the warm-up and then the measured broadcasts, and
 * collects what the clients received. Both processes are gone when it returns or throws.
 */
import { fileURLToPath } from 'node:url';
import { Child } from './child.js';
import type { FanoutSettings, LoadCommand, LoadReport, LoadResult, ServerCommand, ServerReport } from './protocol.js';

export interface ServerVariant {
  /** Short name, used by `FANOUT_SERVERS` to pick variants. */
  name: string;
  /** Row label in the report. */
  label: string;
  /** The server's process module, relative to this directory. */
  module: string;
}

export interface ServerMeasurement {
  variant: ServerVariant;
  result: LoadResult;
  /** Delivered events per second: events received / (last receive - first send). */
  eventsPerSecond: number;
  connectMillis: number;
  /** Time from the first measured broadcast until the server accepted the last. */
  sendMillis: number;
  warmupMissing: number;
  /** Server CPU time (user + system) per received event over the measured broadcasts, in microseconds. */
  serverCpuMicrosPerEvent: number;
}

const STARTUP_TIMEOUT_MS = 30_000;
const CONNECT_TIMEOUT_MS = 60_000;
const BROADCAST_TIMEOUT_MS = 30_000;
/** The load generator answers within 5 s of the last event (its idle timeout); this is the backstop. */
const RECEIVE_TIMEOUT_MS = 180_000;

type ServerChild = Child<ServerCommand, ServerReport>;

function modulePath(relative: string): string {
  return fileURLToPath(new URL(relative, import.meta.url));
}

/** Broadcasts `from` .. `to - 1` one at a time; returns the send time of the first. */
async function broadcastRange(server: ServerChild, from: number, to: number): Promise<number> {
  let firstSentAt = NaN;
  for (let seq = from; seq < to; seq++) {
    server.send({ kind: 'broadcast', seq });
    const ack = await server.expect('broadcasted', BROADCAST_TIMEOUT_MS);
    if (ack.seq !== seq) throw new Error(`${server.name}: acknowledged broadcast ${ack.seq}, expected ${seq}`);
    if (seq === from) firstSentAt = ack.sentAt;
  }
  return firstSentAt;
}

export async function measureServer(
  variant: ServerVariant,
  settings: FanoutSettings,
  execArgv: { server: string[]; load: string[] } = { server: [], load: [] },
): Promise<ServerMeasurement> {
  const server: ServerChild = new Child(`server ${variant.name}`, modulePath(variant.module), execArgv.server);
  let load: Child<LoadCommand, LoadReport> | undefined;
  try {
    const { port } = await server.expect('listening', STARTUP_TIMEOUT_MS);
    load = new Child('load generator', modulePath('./load.js'), execArgv.load);
    load.send({ kind: 'connect', port, settings });
    const { millis: connectMillis } = await load.expect('connected', CONNECT_TIMEOUT_MS);
    server.send({ kind: 'await-subscribers', count: settings.clients });
    await server.expect('subscribers', CONNECT_TIMEOUT_MS);

    await broadcastRange(server, 0, settings.warmupBroadcasts);
    load.send({ kind: 'await-warmup' });
    const { missing: warmupMissing } = await load.expect('warm', RECEIVE_TIMEOUT_MS);

    server.send({ kind: 'cpu-usage' });
    const cpuBefore = (await server.expect('cpu-usage', BROADCAST_TIMEOUT_MS)).micros;
    const end = settings.warmupBroadcasts + settings.broadcasts;
    const firstSentAt = await broadcastRange(server, settings.warmupBroadcasts, end);
    const sendMillis = performance.timeOrigin + performance.now() - firstSentAt;
    load.send({ kind: 'await-measured' });
    const { result } = await load.expect('measured', RECEIVE_TIMEOUT_MS);
    server.send({ kind: 'cpu-usage' });
    const cpuMicros = (await server.expect('cpu-usage', BROADCAST_TIMEOUT_MS)).micros - cpuBefore;
    return {
      variant,
      result,
      eventsPerSecond: result.received / ((result.lastReceivedAt - firstSentAt) / 1000),
      connectMillis,
      sendMillis,
      warmupMissing,
      serverCpuMicrosPerEvent: cpuMicros / result.received,
    };
  } finally {
    await load?.stop({ kind: 'shutdown' });
    await server.stop({ kind: 'shutdown' });
  }
}
