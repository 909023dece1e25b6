/**
 * The fault suite, in memory: one instance (no Redis), 50 listeners streaming from the REST fast-path
 * endpoint, each dropped and reconnected at random (half the time also dropping the next connection
 * before anything of it is seen), while 5,000 broadcasts (and a few dispatches) go out one at a time.
 * Every acknowledged message must reach each listener it was meant for exactly once, in order.
 * `FAULT_SEED` replays a seed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { compileEntry } from '../support/compile-entry.js';
import { DeliveryLedger } from './ledger.js';
import { FaultInstance, logSummary } from './processes.js';
import { Publisher } from './publisher.js';
import {
  CALL_BOUND_MS,
  DropSchedule,
  NO_FAILURES,
  PublishLoop,
  addListener,
  createChannel,
  failures,
  makeClients,
  printRun,
  settle,
  startClients,
  type StreamingClient,
} from './scenario.js';
import { SeededRandom, faultSeed } from './seeded-random.js';

const SEED = faultSeed(20_260_501);
const LISTENERS = 50;
const BROADCASTS = 5000;

describe('fault suite: in memory', () => {
  let compiled: Awaited<ReturnType<typeof compileEntry>> | undefined;
  let instance: FaultInstance | undefined;
  let clients: StreamingClient[] = [];
  let publisher: Publisher | undefined;
  let drops: DropSchedule | undefined;

  beforeAll(async () => {
    compiled = await compileEntry('test/fault/fault-app-main.ts');
  }, 180_000);

  afterAll(async () => {
    drops?.stop();
    for (const client of clients) client.source.close();
    publisher?.close();
    await instance?.kill();
    await compiled?.remove();
  });

  it(`delivers ${BROADCASTS} broadcasts to ${LISTENERS} listeners dropped at random: each acknowledged one exactly once, in order`, async () => {
    const random = new SeededRandom(SEED);
    instance = await FaultInstance.start((compiled as { entry: string }).entry, 'memory', {});
    const { baseUrl } = instance;
    const channelId = await createChannel(baseUrl);
    const listenerIds: string[] = [];
    for (let i = 0; i < LISTENERS; i++) listenerIds.push(await addListener(baseUrl, channelId));
    const ledger = new DeliveryLedger();
    clients = makeClients(ledger, random.fork(), {
      channelId,
      listenerIds,
      baseUrls: [baseUrl],
      answerBoundMs: CALL_BOUND_MS,
    });
    publisher = new Publisher({ baseUrls: [baseUrl], timeoutMs: CALL_BOUND_MS });
    const started = Date.now();
    const loop = new PublishLoop(publisher, ledger, random.fork(), {
      channelId,
      spacingMs: 0,
      dispatchShare: 0.02,
      dispatchTargets: listenerIds.map((listenerId) => ({ channelId, listenerId })),
      maxBroadcasts: BROADCASTS,
    });
    // Messages flow before the clients connect; half the first connections are dropped before anything is seen.
    const firstDrops = await startClients(clients, random.fork(), 300, 0.5);
    drops = new DropSchedule(clients, random.fork(), 20, 400);
    drops.start();
    await loop.done;
    const publishMs = Date.now() - started;
    drops.stop();
    const quiet = await ledger.whenComplete(15_000);
    await settle(ledger, 500);

    const summary = printRun('in memory', SEED, ledger, publisher, clients, [
      `published in ${publishMs} ms; ${firstDrops} first connections dropped before anything was seen; ${drops.drops} drops scheduled, ${drops.firstConnectDrops} of them also dropping the next connection before anything was seen; ${quiet ? 'every acknowledged message arrived' : 'quiescence deadline passed with messages missing'}`,
      ...logSummary([instance]).map((line) => `log ${line}`),
    ]);
    expect(failures(summary)).toEqual(NO_FAILURES);
    expect({ rejected: publisher.rejected, givenUp: publisher.givenUp, unhandled: instance.unhandled }).toEqual({
      rejected: 0,
      givenUp: 0,
      unhandled: [],
    });
  }, 180_000);
});
