/**
 * The fault suite on Redis: one durable redis-server (AOF, fsync always), two application instances on
 * fixed ports, a channel with 20 listeners streamed by EventSource-like clients (half from each instance,
 * each reconnection sometimes going to the other one, dropped at random, some first connections dropped
 * before anything is seen) and a parked listener on a second channel that nobody streams. A publisher
 * sends one message every ~10 ms, alternating instances (broadcasts, and dispatches to the listeners and
 * to the parked one), each with an Idempotency-Key and retried until acknowledged. Meanwhile, in an order
 * drawn from the seed: Redis frozen (SIGSTOP) for 1 s and for 20 s (`FAULT_LONG_FREEZE_MS`), Redis killed
 * (SIGKILL) and restarted on its AOF, each instance killed (kill -9) and restarted on its port.
 *
 * Then, once quiet: every acknowledged message reached each listener it was meant for exactly once and in
 * order, and every call was answered within the bound. Last, with nobody streaming, more messages are
 * queued, every instance is restarted, and channels, listeners and queued messages must be as they were,
 * and be delivered once streamed again.
 *
 * `FAULT_SEED` replays a seed; `FAULT_REDIS_COMMAND_TIMEOUT_MS` sets the instances' Redis command timeout
 * (the module's default when unset); `FAULT_CALL_BOUND_MS` the bound on every call (default 5000).
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { RedisKeys } from '../../src/redis/redis-keys.js';
import { describeWithRedis } from '../redis/redis-server.js';
import { compileEntry } from '../support/compile-entry.js';
import { FaultEventSource } from './event-source.js';
import { DeliveryLedger, seconds } from './ledger.js';
import { FaultInstance, FaultRedis, delay, inspectRedis, logSummary, type FaultInstanceEnv } from './processes.js';
import { Publisher } from './publisher.js';
import {
  CALL_BOUND_MS,
  DropSchedule,
  NO_FAILURES,
  PublishLoop,
  addListener,
  createChannel,
  failures,
  listIds,
  makeClients,
  printRun,
  publishOne,
  say,
  settle,
  startClients,
  type StreamingClient,
  type Target,
} from './scenario.js';
import { SeededRandom, envMilliseconds, faultSeed } from './seeded-random.js';
import { itKnownLoss } from './known-loss.js';

const SEED = faultSeed(20_260_502);
const LISTENERS = 20;
const SHORT_FREEZE_MS = 1000;
const LONG_FREEZE_MS = envMilliseconds('FAULT_LONG_FREEZE_MS', 20_000);
const QUIESCENCE_MS = 10_000;
const KEY_PREFIX = 'fault:';
const keys = new RedisKeys(KEY_PREFIX);

interface Fault {
  name: string;
  run: () => Promise<void>;
}

/** The messages published (seq range) and the time span of one fault and the pause after it. */
interface Window {
  name: string;
  fromSeq: number;
  toSeq: number;
  from: number;
  to: number;
}

/** What a run of the scenario includes. */
interface Scenario {
  label: string;
  /** Whether instances are killed (`kill -9`) and restarted among the faults. */
  instanceKills: boolean;
  /** The chance that a client reconnects to the other instance. */
  switchChance: number;
}

interface Snapshot {
  channels: string[];
  listeners: Record<string, string[]>;
  queues: Record<string, string[]>;
}

describeWithRedis('fault suite: two instances on Redis', () => {
  let compiled: Awaited<ReturnType<typeof compileEntry>> | undefined;
  let redis: FaultRedis | undefined;
  let inspector: Redis | undefined;
  let instances: FaultInstance[] = [];
  let clients: StreamingClient[] = [];
  const sources: FaultEventSource[] = [];
  let publisher: Publisher | undefined;
  let drops: DropSchedule | undefined;

  beforeAll(async () => {
    redis = await FaultRedis.start();
    compiled = await compileEntry('test/fault/fault-app-main.ts');
  }, 180_000);

  afterAll(async () => {
    drops?.stop();
    for (const client of clients) client.source.close();
    for (const source of sources) source.close();
    publisher?.close();
    inspector?.disconnect();
    await Promise.all(instances.map((instance) => instance.kill()));
    await redis?.dispose();
    await compiled?.remove();
  });

  /** One run of the scenario; what it started is stopped at its end, so another can follow. */
  async function runScenario(scenario: Scenario): Promise<void> {
    const flush = await inspectRedis((redis as FaultRedis).url);
    await flush.flushall();
    flush.disconnect();
    try {
      await scenarioBody(scenario);
    } finally {
      drops?.stop();
      for (const client of clients) client.source.close();
      for (const source of sources.splice(0)) source.close();
      publisher?.close();
      inspector?.disconnect();
      inspector = undefined;
      await Promise.all(instances.map((instance) => instance.kill()));
      instances = [];
    }
  }

  async function scenarioBody(scenario: Scenario): Promise<void> {
    const random = new SeededRandom(SEED);
    const server = redis as FaultRedis;
    const env: FaultInstanceEnv = {
      REDIS_URL: server.url,
      KEY_PREFIX,
      REDIS_COMMAND_TIMEOUT_MS: process.env.FAULT_REDIS_COMMAND_TIMEOUT_MS,
    };
    const entry = (compiled as { entry: string }).entry;
    instances = await Promise.all([FaultInstance.start(entry, 'a', env), FaultInstance.start(entry, 'b', env)]);
    const [a, b] = instances;
    const baseUrls = [a.baseUrl, b.baseUrl];
    const channelId = await createChannel(a.baseUrl);
    const listenerIds: string[] = [];
    for (let i = 0; i < LISTENERS; i++) listenerIds.push(await addListener(baseUrls[i % 2], channelId));
    const parkedChannelId = await createChannel(b.baseUrl);
    const parkedId = await addListener(a.baseUrl, parkedChannelId);

    const ledger = new DeliveryLedger();
    clients = makeClients(ledger, random.fork(), {
      channelId,
      listenerIds,
      baseUrls,
      answerBoundMs: CALL_BOUND_MS,
      switchChance: scenario.switchChance,
    });
    const parkedSource = new FaultEventSource({
      url: () => `${b.baseUrl}/channels/${parkedChannelId}/listeners/${parkedId}/stream`,
      onEvent: (event) => ledger.receive(parkedId, event),
      answerBoundMs: CALL_BOUND_MS,
    });
    sources.push(parkedSource);
    ledger.addListener(parkedId, parkedChannelId, 'parked', parkedSource);
    const parked: Target = { channelId: parkedChannelId, listenerId: parkedId };

    const windows: Window[] = [];
    const open = (name: string): Window => {
      const window = { name, fromSeq: ledger.sent, toSeq: ledger.sent, from: Date.now(), to: Date.now() };
      windows.push(window);
      return window;
    };
    const close = (window: Window): void => {
      window.toSeq = ledger.sent;
      window.to = Date.now();
    };
    const starting = open('clients connecting (messages already flowing)');
    publisher = new Publisher({ baseUrls, timeoutMs: CALL_BOUND_MS });
    const loop = new PublishLoop(publisher, ledger, random.fork(), {
      channelId,
      spacingMs: 10,
      dispatchShare: 0.1,
      dispatchTargets: [...listenerIds.map((listenerId) => ({ channelId, listenerId })), parked, parked, parked],
    });
    const firstDrops = await startClients(clients, random.fork(), 300, 0.5);
    drops = new DropSchedule(clients, random.fork(), 200, 1500);
    drops.start();
    close(starting);

    // The faults, in an order drawn from the seed, each followed by a pause of ordinary traffic.
    const faultRandom = random.fork();
    const faults: Fault[] = faultRandom.shuffle([
      { name: `redis SIGSTOP ${SHORT_FREEZE_MS} ms`, run: () => server.freeze(SHORT_FREEZE_MS) },
      { name: `redis SIGSTOP ${LONG_FREEZE_MS} ms`, run: () => server.freeze(LONG_FREEZE_MS) },
      { name: 'redis SIGKILL, restart on its AOF', run: () => server.crash(500) },
      ...(scenario.instanceKills ? instances : []).map((instance) => ({
        name: `instance ${instance.name} kill -9, restart`,
        run: async () => {
          await instance.kill();
          await delay(500);
          await instance.restart();
        },
      })),
    ]);
    say(
      `fault suite (${scenario.label}, seed ${SEED}): faults in order: ${faults.map((fault) => fault.name).join('; ')}`,
    );
    const before = open('before the faults');
    await delay(1500);
    close(before);
    for (const fault of faults) {
      const window = open(fault.name);
      await fault.run();
      say(`  ${fault.name}: done in ${Date.now() - window.from} ms`);
      await delay(faultRandom.int(1500, 2500));
      close(window);
    }
    const stopping = open('stopping the publisher');
    await loop.stop();
    close(stopping);
    drops.stop();
    // The parked listener is not streamed yet: its messages are checked after the restart.
    const streamed = new Set(listenerIds);
    const quiet = await ledger.whenComplete(QUIESCENCE_MS, false, streamed);
    await settle(ledger, 500);
    const missing = ledger.lost(streamed);
    inspector = await inspectRedis(server.url);
    const serverView = await lossesInRedis(inspector, ledger, missing, channelId);
    const attribution = attribute(windows, missing, ledger, publisher);

    // Restart every instance with nobody streaming: channels, listeners and queued messages must stay.
    ledger.beginPhase();
    let restartError: unknown;
    let restart: Record<string, unknown> = {};
    let phaseComplete = false;
    try {
      for (const client of clients) client.source.close();
      for (let i = 0; i < 10; i++) await publishOne(publisher, ledger, channelId);
      for (let i = 0; i < 10; i++) await publishOne(publisher, ledger, parked);
      const ids = [channelId, parkedChannelId];
      const snapshotBefore = await stableSnapshot(a.baseUrl, inspector, ids);
      await Promise.all(instances.map((instance) => instance.close()));
      await Promise.all(instances.map((instance) => instance.restart()));
      const snapshotAfter = await snapshot(b.baseUrl, inspector, ids);
      restart = {
        channels: sameOrDiff(snapshotBefore.channels, snapshotAfter.channels),
        listeners: sameOrDiff(snapshotBefore.listeners, snapshotAfter.listeners),
        queues: sameOrDiff(snapshotBefore.queues, snapshotAfter.queues),
      };
      const queued = Object.values(snapshotBefore.queues).reduce((sum, queue) => sum + queue.length, 0);
      say(
        `  restart of every instance: ${snapshotBefore.channels.length} channels, ` +
          `${Object.values(snapshotBefore.listeners).flat().length} listeners, ${queued} queued messages before; ` +
          `after: ${JSON.stringify(restart)}`,
      );
      for (const client of clients) client.source.start();
      parkedSource.start();
      phaseComplete = await ledger.whenComplete(15_000, true);
      await settle(ledger, 500);
    } catch (error) {
      restartError = error instanceof Error ? error.message : String(error);
    }

    // Missing once quiet, delivered only after the restart: stuck while their client was streaming.
    let late = 0;
    for (const [listenerId, seqs] of missing) for (const seq of seqs) if (ledger.has(listenerId, seq)) late++;
    const summary = printRun(
      scenario.label,
      SEED,
      ledger,
      publisher,
      [...clients, { listenerId: parkedId, label: 'parked', source: parkedSource }],
      [
        `${firstDrops} first connections dropped before anything was seen; ${drops.drops} drops scheduled, ${drops.firstConnectDrops} of them also dropping the next connection before anything was seen`,
        `after the faults: ${quiet ? 'every acknowledged message arrived' : `quiescence deadline (${QUIESCENCE_MS} ms) passed with ${count(missing)} (listener, message) pairs missing`}; ` +
          `${late} of them arrived only after the restart (late); after the restart: ${phaseComplete ? 'every message queued meanwhile arrived' : 'messages queued meanwhile missing'}`,
        ...attribution,
        ...serverView,
        ...logSummary(instances).map((line) => `log ${line}`),
      ],
    );
    const unhandled = instances.flatMap((instance) => instance.unhandled);
    expect({
      ...failures(summary),
      late,
      restart,
      restartError,
      rejected: publisher.rejected,
      givenUp: publisher.givenUp,
      unhandled,
    }).toEqual({
      ...NO_FAILURES,
      late: 0,
      restart: { channels: 'same', listeners: 'same', queues: 'same' },
      restartError: undefined,
      rejected: 0,
      givenUp: 0,
      unhandled: [],
    });
  }

  it(
    'Redis frozen (short and long) and killed, client drops, two instances, each client on its instance: every acknowledged message exactly once, in order, every call answered, nothing changed by a restart of every instance',
    () => runScenario({ label: 'redis', instanceKills: false, switchChance: 0 }),
    300_000,
  );

  itKnownLoss(
    'the same with instances killed (kill -9) and clients moving between instances',
    () => runScenario({ label: 'redis, instance kills', instanceKills: true, switchChance: 0.25 }),
    300_000,
  );
});

/** The channels, the listeners of `channelIds`, and every queue of them, as REST and Redis show them. */
async function snapshot(baseUrl: string, redis: Redis, channelIds: string[]): Promise<Snapshot> {
  const result: Snapshot = { channels: await listIds(baseUrl, '/channels'), listeners: {}, queues: {} };
  for (const channelId of channelIds) {
    const listeners = await listIds(baseUrl, `/channels/${channelId}/listeners`);
    result.listeners[channelId] = listeners;
    for (const listenerId of listeners) {
      result.queues[listenerId] = await redis.lrange(keys.queue(channelId, listenerId), 0, -1);
    }
  }
  return result;
}

/** A snapshot taken twice 300 ms apart with nothing changing (what streams just left settles first). */
async function stableSnapshot(baseUrl: string, redis: Redis, channelIds: string[]): Promise<Snapshot> {
  let previous = await snapshot(baseUrl, redis, channelIds);
  for (let i = 0; i < 10; i++) {
    await delay(300);
    const next = await snapshot(baseUrl, redis, channelIds);
    if (JSON.stringify(next) === JSON.stringify(previous)) return next;
    previous = next;
  }
  return previous;
}

function sameOrDiff(before: unknown, after: unknown): string {
  const a = JSON.stringify(before);
  const b = JSON.stringify(after);
  if (a === b) return 'same';
  return `changed: ${a.slice(0, 200)} → ${b.slice(0, 200)}`;
}

function count(pairs: Map<string, number[]>): number {
  let total = 0;
  for (const seqs of pairs.values()) total += seqs.length;
  return total;
}

/**
 * Messages missing once quiet, duplicated messages and unanswered calls, by the window (a fault and the
 * pause after it) they were published or made in.
 */
function attribute(
  windows: readonly Window[],
  missing: Map<string, number[]>,
  ledger: DeliveryLedger,
  publisher: Publisher,
): string[] {
  const lost = new Map<string, number>();
  const duplicated = new Map<string, number>();
  const unanswered = new Map<string, number>();
  const bySeq = (seq: number): string =>
    windows.find((window) => seq >= window.fromSeq && seq < window.toSeq)?.name ?? 'after the faults';
  for (const seqs of missing.values()) for (const seq of seqs) add(lost, bySeq(seq));
  for (const [seq, count] of ledger.duplicateSeqs) add(duplicated, bySeq(seq), count);
  for (const at of publisher.unansweredAt) {
    add(unanswered, windows.find((window) => at >= window.from && at < window.to)?.name ?? 'after the faults');
  }
  return windows.map((window) => {
    const counts = `missing once quiet ${lost.get(window.name) ?? 0}, duplicated ${duplicated.get(window.name) ?? 0}, unanswered publish calls ${unanswered.get(window.name) ?? 0}`;
    const span = `${seconds(window.from - ledger.origin)} → ${seconds(window.to - ledger.origin)}`;
    return `window "${window.name}" (seq ${window.fromSeq}-${window.toSeq - 1}, ${span}): ${counts}`;
  });
}

function add(map: Map<string, number>, key: string, count = 1): void {
  map.set(key, (map.get(key) ?? 0) + count);
}

/**
 * Where Redis has each lost message: still in the listener's queue, numbered in its replay history
 * (with the id it got), or nowhere (taken from the queue, never numbered: lost in a process or by a take
 * whose reply never came). The history holds each listener's most recent events only.
 */
async function lossesInRedis(
  redis: Redis,
  ledger: DeliveryLedger,
  lost: Map<string, number[]>,
  channel: string,
): Promise<string[]> {
  if (lost.size === 0) return [];
  const where = new Map<string, number>();
  const examples: string[] = [];
  for (const [listenerId, seqs] of lost) {
    const queued = new Set((await redis.lrange(keys.queue(channel, listenerId), 0, -1)).map(seqOf));
    const numbered = new Map<number, number>();
    let oldest: number | undefined;
    for (const entry of await redis.lrange(keys.history(channel, listenerId), 0, -1)) {
      const [id, , sha] = entry.split(':');
      oldest ??= Number(id);
      const frame = await redis.get(`${keys.framePrefix}${sha}`);
      if (frame !== null) numbered.set(seqOf(frame), Number(id));
    }
    const lastId = await redis.get(keys.eventId(channel, listenerId));
    for (const seq of seqs) {
      let place: string;
      if (queued.has(seq)) place = 'still in its queue in Redis';
      else if (numbered.has(seq))
        place = 'numbered in its replay history (taken, given an id, never seen by the client)';
      else place = 'not in Redis (taken from its queue; not in the history, which holds the most recent ids only)';
      add(where, place);
      if (examples.length < 8) {
        const state = queued.has(seq) ? 'queued' : numbered.has(seq) ? `id ${numbered.get(seq)}` : 'no id';
        examples.push(
          `  e.g. ${ledger.labelOf(listenerId)} seq ${seq}: ${state}; history ids ${oldest ?? '-'}..${lastId ?? '-'}`,
        );
      }
    }
  }
  return [
    'messages missing once quiet, where Redis has them:',
    ...[...where].map(([place, count]) => `  ${count} × ${place}`),
    ...examples,
  ];
}

function seqOf(text: string): number {
  const match = /"seq":(\d+)/.exec(text);
  return match === null ? -1 : Number(match[1]);
}
