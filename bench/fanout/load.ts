/**
 * The load generator process: opens one SSE stream per client on the server under test with plain
 * `node:http` requests, parses frames with `FrameParser`, and measures what arrives. A whole EventSource
 * per client would make this process, not the server, the bottleneck.
 */
import { Agent, request, type IncomingMessage } from 'node:http';
import { FrameParser } from './frame-parser.js';
import { now, STREAM_PATH, type FanoutSettings, type LoadCommand, type LoadReport } from './protocol.js';

/** Streams being opened at once. */
const CONNECT_CONCURRENCY = 100;
/** A wait for events ends this long after the last one arrived, so a server that loses events cannot hang the run. */
const IDLE_TIMEOUT_MS = 5000;

function send(message: LoadReport): void {
  // The callback takes the error of a send after the driver is gone; the disconnect handler exits.
  if (process.connected) process.send?.(message, undefined, undefined, () => {});
}

function fail(message: string): never {
  send({ kind: 'error', message });
  process.exit(1);
}

class Measurement {
  readonly latencies: Float64Array;
  latencyCount = 0;
  received = 0;
  duplicates = 0;
  warmReceived = 0;
  closedEarly = 0;
  lastReceivedAt = 0;
  lastEventAt = now();
  /** The arrival time of the chunk being parsed, read once per chunk rather than per event. */
  chunkReceivedAt = 0;
  /** Per client, per measured broadcast: 1 once received. */
  private readonly seen: Uint8Array[];

  constructor(readonly settings: FanoutSettings) {
    this.latencies = new Float64Array(settings.clients * settings.broadcasts);
    this.seen = Array.from({ length: settings.clients }, () => new Uint8Array(settings.broadcasts));
  }

  onEvent(client: number, seq: number, sentAt: number): void {
    const index = seq - this.settings.warmupBroadcasts;
    if (index < 0) {
      this.warmReceived++;
      return;
    }
    const seen = this.seen[client];
    if (index >= seen.length) return;
    if (seen[index] === 1) {
      this.duplicates++;
      return;
    }
    seen[index] = 1;
    this.received++;
    this.latencies[this.latencyCount++] = this.chunkReceivedAt - sentAt;
    this.lastReceivedAt = this.chunkReceivedAt;
  }

  missingPerClient(): number[] {
    return this.seen.map((seen) => seen.reduce((missing, got) => missing + (got === 1 ? 0 : 1), 0));
  }

  percentile(sorted: Float64Array, q: number): number {
    if (sorted.length === 0) return NaN;
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
  }
}

let measurement: Measurement | undefined;
let shuttingDown = false;
const responses: IncomingMessage[] = [];

/** The one pending wait for events; checked after every chunk and by the idle timer. */
let waiter: { done: () => boolean; resolve: (timedOut: boolean) => void } | undefined;

function checkWaiter(checkIdle: boolean): void {
  if (waiter === undefined) return;
  const idle = checkIdle && measurement !== undefined && now() - measurement.lastEventAt > IDLE_TIMEOUT_MS;
  const done = waiter.done();
  if (done || idle) {
    const { resolve } = waiter;
    waiter = undefined;
    resolve(!done);
  }
}

function waitUntil(done: () => boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setInterval(() => checkWaiter(true), 250);
    waiter = {
      done,
      resolve: (timedOut) => {
        clearInterval(timer);
        resolve(timedOut);
      },
    };
    checkWaiter(false);
  });
}

function openStream(agent: Agent, port: number, client: number, m: Measurement): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      { agent, host: '127.0.0.1', port, path: STREAM_PATH, headers: { Accept: 'text/event-stream' } },
      (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`client ${client}: HTTP ${res.statusCode}`));
          res.resume();
          return;
        }
        responses.push(res);
        const parser = new FrameParser((seq, sentAt) => m.onEvent(client, seq, sentAt));
        res.on('data', (chunk: Buffer) => {
          m.chunkReceivedAt = now();
          m.lastEventAt = m.chunkReceivedAt;
          parser.feed(chunk);
          if (waiter !== undefined) checkWaiter(false);
        });
        res.on('error', () => {});
        res.on('close', () => {
          if (!shuttingDown) m.closedEarly++;
        });
        resolve();
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function connect(ports: number[], settings: FanoutSettings): Promise<void> {
  const m = (measurement = new Measurement(settings));
  const agent = new Agent({ keepAlive: true, maxSockets: settings.clients + 16 });
  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < settings.clients) {
      const client = next++;
      await openStream(agent, ports[client % ports.length], client, m);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, settings.clients) }, worker));
  send({ kind: 'connected', millis: performance.now() - started });
}

async function awaitWarmup(m: Measurement): Promise<void> {
  const expected = m.settings.clients * m.settings.warmupBroadcasts;
  m.lastEventAt = now();
  await waitUntil(() => m.warmReceived >= expected);
  send({ kind: 'warm', missing: expected - m.warmReceived });
}

async function awaitMeasured(m: Measurement): Promise<void> {
  const expected = m.settings.clients * m.settings.broadcasts;
  m.lastEventAt = now();
  const timedOut = await waitUntil(() => m.received >= expected);
  const missingPerClient = m.missingPerClient();
  const sorted = m.latencies.slice(0, m.latencyCount).sort();
  send({
    kind: 'measured',
    result: {
      received: m.received,
      expected,
      missing: missingPerClient.reduce((sum, missing) => sum + missing, 0),
      clientsMissing: missingPerClient.filter((missing) => missing > 0).length,
      duplicates: m.duplicates,
      closedEarly: m.closedEarly,
      lastReceivedAt: m.lastReceivedAt,
      p50Ms: m.percentile(sorted, 0.5),
      p99Ms: m.percentile(sorted, 0.99),
      timedOut,
    },
  });
}

process.on('disconnect', () => process.exit(0));
process.on('message', (command: LoadCommand) => {
  const m = measurement;
  const run = (): Promise<void> => {
    switch (command.kind) {
      case 'connect':
        return connect(command.ports ?? [command.port], command.settings);
      case 'await-warmup':
        return m === undefined ? Promise.reject(new Error('not connected')) : awaitWarmup(m);
      case 'await-measured':
        return m === undefined ? Promise.reject(new Error('not connected')) : awaitMeasured(m);
      case 'shutdown':
        shuttingDown = true;
        for (const res of responses) res.destroy();
        process.exit(0);
    }
  };
  run().catch((error: unknown) => fail(String((error as Error)?.stack ?? error)));
});
