/**
 * `npm run soak [-- --minutes N]` (default 1): starts the in-memory app with REST and the socket server
 * in a child process, churns SSE clients, listeners, channels, messages and socket commands against it
 * for N minutes, prints a line every 10 s (server RSS, heap, event-loop delay, streams, listeners,
 * messages) and ends with a summary and a verdict. Stops by itself and cleans up.
 */
import { fileURLToPath } from 'node:url';
import { Counters, type Ticker } from './load/counters.js';
import { restAgent } from './load/http.js';
import { startRestTraffic } from './load/rest-traffic.js';
import { startSocketChurn } from './load/socket-churn.js';
import { SseChurn } from './load/sse-churn.js';
import { StopSignal } from './load/stop-signal.js';
import { count, mib, ms, signedMib } from './format.js';
import type { ServerSample } from './protocol.js';
import { ServerProcess } from './server-process.js';

const REPORT_EVERY_MS = 10_000;
const BASE = '/eric-sse';

/** The load, per second unless said otherwise. */
const LOAD = {
  sseClients: 150,
  sseLifetimeMs: [2000, 8000] as [number, number],
  broadcastsPerSecond: 40,
  dispatchesPerSecond: 25,
  channelChurnPerSecond: 1,
  socketSessionsPerSecond: 10,
  socketWatchesPerSecond: 2,
};

/** What the verdict holds the run to. */
const LIMITS = {
  /** Heap after a full GC: once the load stopped, against the same after warm-up. */
  heapGrowthBytes: 8 * 1024 * 1024,
  /** RSS from the end of warm-up to the end of the load. */
  rssGrowthBytes: 32 * 1024 * 1024,
  loopP99Ms: 50,
  /** Time for every stream and listener of the load to be gone once its clients left. */
  cleanupMs: 10_000,
};

function parseMinutes(args: string[]): number {
  const at = args.indexOf('--minutes');
  if (at === -1) return 1;
  const minutes = Number(args[at + 1]);
  if (!Number.isFinite(minutes) || minutes <= 0) {
    console.error('Usage: npm run soak [-- --minutes N]   (N > 0, default 1)');
    process.exit(2);
  }
  return minutes;
}

function line(elapsedMs: number, sample: ServerSample, cpuPercent: number, counters: Counters): string {
  return [
    `${String(Math.round(elapsedMs / 1000)).padStart(5)} s`,
    `rss ${mib(sample.rssBytes).padStart(9)}`,
    `heap ${mib(sample.heapUsedBytes).padStart(9)} / ${mib(sample.heapTotalBytes)}`,
    `loop p50 ${ms(sample.loopP50Ms)} p99 ${ms(sample.loopP99Ms)} max ${ms(sample.loopMaxMs)}`,
    `cpu ${cpuPercent.toFixed(0).padStart(3)} %`,
    `streams ${String(sample.openStreams).padStart(4)}`,
    `listeners ${String(sample.listeners).padStart(4)} (${sample.runningListeners} running)`,
    `channels ${sample.channels}`,
    `sent ${count(counters.sent)} queued ${count(counters.queued)} received ${count(counters.received)}`,
    `rest ${count(counters.restCalls)} socket ${count(counters.socketCommands)}`,
    `races ${counters.races} failures ${counters.failures}`,
  ].join(' | ');
}

async function main(): Promise<void> {
  const minutes = parseMinutes(process.argv.slice(2));
  const durationMs = minutes * 60_000;
  const server = new ServerProcess(fileURLToPath(new URL('./server.js', import.meta.url)));
  const counters = new Counters();
  const stop = new StopSignal();
  const verdictFailures: string[] = [];
  let restTickers: Ticker[] = [];
  let socketTickers: Ticker[] = [];
  let churn: SseChurn | undefined;
  const stopLoad = async (): Promise<void> => {
    stop.stop();
    // A socket watch in flight ends after a few more broadcasts: the REST traffic making them stops last.
    await Promise.all([...socketTickers.map((ticker) => ticker.stop()), churn?.finish()]);
    await Promise.all(restTickers.map((ticker) => ticker.stop()));
  };
  try {
    const ready = await server.next('ready', 30_000);
    const start = await server.sample(true);
    console.log(
      `Soak: ${minutes} min against the in-memory app (REST, SSE fast path, socket server) in a child process`,
    );
    console.log(
      `Load: ${LOAD.sseClients} SSE clients churning (${LOAD.sseLifetimeMs.join('-')} ms each, watch or listener), ` +
        `${LOAD.broadcastsPerSecond} broadcasts/s, ${LOAD.dispatchesPerSecond} dispatches/s, ` +
        `${LOAD.channelChurnPerSecond} temp channel/s, ${LOAD.socketSessionsPerSecond} socket sessions/s, ` +
        `${LOAD.socketWatchesPerSecond} socket watches/s`,
    );
    console.log(`Server at start: rss ${mib(start.rssBytes)}, heap after GC ${mib(start.heapUsedBytes)}\n`);

    churn = new SseChurn(
      {
        port: ready.port,
        base: BASE,
        channels: ready.stableChannels,
        concurrent: LOAD.sseClients,
        lifetimeMs: LOAD.sseLifetimeMs,
      },
      counters,
      stop,
    );
    churn.start();
    restTickers = startRestTraffic(
      { port: ready.port, base: BASE, channels: ready.stableChannels, ...LOAD },
      churn,
      counters,
    );
    socketTickers = startSocketChurn(
      {
        socketPath: ready.socketPath,
        channels: ready.stableChannels,
        sessionsPerSecond: LOAD.socketSessionsPerSecond,
        watchesPerSecond: LOAD.socketWatchesPerSecond,
      },
      counters,
    );

    const began = Date.now();
    const samples: ServerSample[] = [];
    let warm: ServerSample | undefined;
    let last = { at: began, cpu: start.cpuMicros };
    while (Date.now() - began < durationMs) {
      await stop.sleep(Math.min(REPORT_EVERY_MS, durationMs - (Date.now() - began)));
      const sample = await server.sample();
      const now = Date.now();
      const cpuPercent = ((sample.cpuMicros - last.cpu) / 1000 / (now - last.at)) * 100;
      last = { at: now, cpu: sample.cpuMicros };
      samples.push(sample);
      console.log(line(now - began, sample, cpuPercent, counters));
      // The first interval is the warm-up (JIT, pools, connections): later growth is measured from here.
      if (warm === undefined) warm = { ...sample, heapUsedBytes: (await server.sample(true)).heapUsedBytes };
    }

    await stopLoad();
    const loadEnd = samples[samples.length - 1] as ServerSample;

    // Every client has left and every listener of the load was deleted: nothing may stay behind.
    const cleanupStarted = Date.now();
    let after = await server.sample();
    while (
      (after.openStreams > 0 || after.listeners > 0 || after.channels > start.channels) &&
      Date.now() - cleanupStarted < LIMITS.cleanupMs
    ) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      after = await server.sample();
    }
    const cleanupMs = Date.now() - cleanupStarted;
    const end = await server.sample(true);

    const baseline = warm as ServerSample;
    const rssGrowth = loadEnd.rssBytes - baseline.rssBytes;
    const heapGrowth = end.heapUsedBytes - baseline.heapUsedBytes;
    const worstP99 = Math.max(...samples.map((sample) => sample.loopP99Ms));
    const worstMax = Math.max(...samples.map((sample) => sample.loopMaxMs));
    const cpuPercent = ((loadEnd.cpuMicros - start.cpuMicros) / 1000 / durationMs) * 100;

    if (heapGrowth > LIMITS.heapGrowthBytes) verdictFailures.push(`heap after GC grew ${signedMib(heapGrowth)}`);
    if (rssGrowth > LIMITS.rssGrowthBytes) verdictFailures.push(`RSS grew ${signedMib(rssGrowth)} after warm-up`);
    if (worstP99 > LIMITS.loopP99Ms) verdictFailures.push(`event-loop delay p99 reached ${ms(worstP99)}`);
    if (counters.failures > 0) verdictFailures.push(`${counters.failures} failed operations`);
    if (end.errorsLogged > 0) verdictFailures.push(`the server logged ${end.errorsLogged} errors`);
    if (after.openStreams > 0 || after.listeners > 0 || after.channels > start.channels) {
      verdictFailures.push(
        `${after.openStreams} streams, ${after.listeners} listeners and ${after.channels} channels left ${LIMITS.cleanupMs / 1000} s after the load`,
      );
    }

    console.log(`\nSummary after ${minutes} min (${samples.length} samples)`);
    console.log(
      `  server RSS: ${mib(start.rssBytes)} at start, ${mib(baseline.rssBytes)} after warm-up, ${mib(loadEnd.rssBytes)} at the end of the load: ` +
        `${signedMib(rssGrowth)} after warm-up (${((rssGrowth / baseline.rssBytes) * 100).toFixed(1)} %); limit ${signedMib(LIMITS.rssGrowthBytes)}`,
    );
    console.log(
      `  heap after a full GC: ${mib(baseline.heapUsedBytes)} after warm-up, ${mib(end.heapUsedBytes)} once the load stopped: ` +
        `${signedMib(heapGrowth)}; limit ${signedMib(LIMITS.heapGrowthBytes)}`,
    );
    console.log(
      `  event-loop delay: worst p99 ${ms(worstP99)} (limit ${ms(LIMITS.loopP99Ms)}), worst max ${ms(worstMax)}; server CPU ${cpuPercent.toFixed(0)} % of one core`,
    );
    console.log(
      `  load: ${count(counters.sent)} messages sent, ${count(counters.queued)} deliveries queued, ${count(counters.received)} received; ` +
        `${count(counters.streamsOpened)} SSE streams opened; ${count(counters.restCalls)} REST calls; ` +
        `${count(counters.socketCommands)} socket commands; ${counters.races} expected races (404 after a removal); ${counters.failures} failures`,
    );
    for (const failure of counters.failureSamples) console.log(`    failure: ${failure}`);
    console.log(
      `  after the load: ${after.openStreams} open streams, ${after.listeners} listeners, ${after.channels} channels ` +
        `(${start.channels} before the load) after ${cleanupMs} ms`,
    );
  } catch (error) {
    verdictFailures.push(`the soak stopped: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await stopLoad();
    restAgent.destroy();
    await server.stop();
  }
  console.log(
    verdictFailures.length === 0
      ? 'Verdict: PASS (no leak, no stall, no failure, everything cleaned up)'
      : `Verdict: FAIL (${verdictFailures.join('; ')})`,
  );
  process.exitCode = verdictFailures.length === 0 ? 0 : 1;
}

await main();
