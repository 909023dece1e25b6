/**
 * The first-connect drop, focused: a client that has never seen an event connects while broadcasts flow
 * (some queued before it connects), and its first connection is dropped before it sees any message: as
 * soon as it connects (the server may not even have seen the request), or right after the response head
 * arrived (what came with it is parsed, as a browser does). It then reconnects as an EventSource does,
 * with the last event id it saw if any (the stream's resume point comes with the head), and must get
 * every acknowledged broadcast, exactly once, in order. In memory and on Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { describeWithRedis } from '../redis/redis-server.js';
import { compileEntry } from '../support/compile-entry.js';
import { FaultEventSource, type ConnectDrop } from './event-source.js';
import { DeliveryLedger } from './ledger.js';
import { FaultInstance, FaultRedis, type FaultInstanceEnv } from './processes.js';
import { Publisher } from './publisher.js';
import {
  CALL_BOUND_MS,
  NO_FAILURES,
  PublishLoop,
  addListener,
  createChannel,
  failures,
  printRun,
  publishOne,
  settle,
} from './scenario.js';
import { SeededRandom } from './seeded-random.js';

const MODES: readonly ConnectDrop[] = ['on-connect', 'after-head'];
const QUEUED_BEFORE = 10;
const FLOWING = 30;

function firstConnectDropSuite(backend: 'in memory' | 'redis'): void {
  let compiled: Awaited<ReturnType<typeof compileEntry>> | undefined;
  let redis: FaultRedis | undefined;
  let instance: FaultInstance | undefined;
  const sources: FaultEventSource[] = [];
  const publishers: Publisher[] = [];

  beforeAll(async () => {
    if (backend === 'redis') redis = await FaultRedis.start();
    compiled = await compileEntry('test/fault/fault-app-main.ts');
    const env: FaultInstanceEnv = redis === undefined ? {} : { REDIS_URL: redis.url, KEY_PREFIX: 'first-connect:' };
    instance = await FaultInstance.start(compiled.entry, backend, env);
  }, 180_000);

  afterAll(async () => {
    for (const source of sources) source.close();
    for (const publisher of publishers) publisher.close();
    await instance?.kill();
    await redis?.dispose();
    await compiled?.remove();
  });

  for (const mode of MODES) {
    it(`drop ${mode}, before any message is seen, then reconnect as an EventSource does: nothing lost`, async () => {
      const { baseUrl } = instance as FaultInstance;
      const channelId = await createChannel(baseUrl);
      const listenerId = await addListener(baseUrl, channelId);
      const ledger = new DeliveryLedger();
      const source = new FaultEventSource({
        url: () => `${baseUrl}/channels/${channelId}/listeners/${listenerId}/stream`,
        onEvent: (event) => ledger.receive(listenerId, event),
        answerBoundMs: CALL_BOUND_MS,
      });
      sources.push(source);
      ledger.addListener(listenerId, channelId, 'L', source);
      const publisher = new Publisher({ baseUrls: [baseUrl], timeoutMs: CALL_BOUND_MS });
      publishers.push(publisher);

      for (let i = 0; i < QUEUED_BEFORE; i++) await publishOne(publisher, ledger, channelId);
      const flowing = new PublishLoop(publisher, ledger, new SeededRandom(1), {
        channelId,
        spacingMs: 5,
        dispatchShare: 0,
        dispatchTargets: [],
        maxBroadcasts: FLOWING,
      });
      source.dropNextConnect(mode);
      source.start();
      await flowing.done;
      await ledger.whenComplete(5000);
      await settle(ledger, 200);

      const [first, second] = source.connections;
      const summary = printRun(
        `first-connect drop ${mode}, ${backend}`,
        0,
        ledger,
        publisher,
        [{ listenerId, label: 'L', source }],
        [
          `connection #0: status ${first.status ?? '-'}, ended ${first.end}; connection #1 sent Last-Event-ID ${second?.sentLastEventId ?? 'none'}`,
        ],
      );
      expect({ drop: first.drop, end: first.end }).toEqual({ drop: mode, end: 'dropped' });
      // Dropped on connect, it saw nothing; after the head, it may have parsed messages that reached it in
      // the same read as the head (when the machine is busy), and nothing later.
      if (mode === 'on-connect') expect(first.events).toBe(0);
      // After the head, the client has the stream's resume point: its reconnection sends it.
      if (mode === 'after-head') expect(second?.sentLastEventId).toMatch(/^\d+$/);
      expect(failures(summary)).toEqual(NO_FAILURES);
    }, 60_000);
  }
}

describe('fault suite: first-connect drop, in memory', () => firstConnectDropSuite('in memory'));
describeWithRedis('fault suite: first-connect drop, on Redis', () => firstConnectDropSuite('redis'));
