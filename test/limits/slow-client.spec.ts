import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import supertest from 'supertest';
import { compileEntry } from '../support/compile-entry.js';
import { PausedSseClient } from './e2e/paused-sse-client.js';
import { ServerProcess } from './e2e/server-process.js';
import type { EricSseLimitsOptions } from '../../src/index.js';

const BROADCASTS = 10_000;
/** Bytes of each payload's text: 10,000 broadcasts carry about 10 MB, more than socket buffers take. */
const PAYLOAD_BYTES = 1000;
/** The bound the server's RSS growth stays under while a non-reading client holds 10,000 broadcasts. */
const RSS_GROWTH_BOUND_MB = 24;
const MB = 1024 * 1024;

let entry: { entry: string; remove: () => Promise<void> };
let server: ServerProcess | undefined;
let client: PausedSseClient | undefined;

beforeAll(async () => {
  entry = await compileEntry('test/limits/e2e/server-main.ts');
}, 120_000);

afterAll(async () => {
  await entry?.remove();
});

afterEach(async () => {
  client?.close();
  client = undefined;
  const unhandled = server?.unhandled ?? [];
  await server?.close();
  server = undefined;
  expect(unhandled).toEqual([]);
});

/** The server in its process, one listener on `feed`, and the memory after a warm-up with a reading client. */
async function setUp(limits: EricSseLimitsOptions): Promise<{ listenerId: string; baselineRss: number }> {
  server = await ServerProcess.start(entry.entry, limits);
  const api = supertest.agent(server.baseUrl);
  const listenerId = (await api.post('/channels/feed/listeners').expect(201)).body.id as string;
  // Warm-up: the same work with a client that reads, so that what follows measures holding, not first use.
  const warmUpId = (await api.post('/channels/warm-up/listeners').expect(201)).body.id as string;
  const reader = await PausedSseClient.open(`${server.baseUrl}/channels/warm-up/listeners/${warmUpId}/stream`);
  reader.resume();
  await server.broadcast('warm-up', 2000, PAYLOAD_BYTES);
  await reader.waitFor(2000);
  reader.close();
  await api.delete(`/channels/warm-up/listeners/${warmUpId}`).expect(204);
  return { listenerId, baselineRss: (await server.memory()).rss };
}

describe('a client that stops reading', () => {
  it(`holding ${BROADCASTS.toLocaleString('en')} broadcasts of ~1 KB leaves the server's RSS growth under ${RSS_GROWTH_BOUND_MB} MB; every event arrives once it reads again`, async () => {
    const { listenerId, baselineRss } = await setUp({});
    const proc = server as ServerProcess;
    client = await PausedSseClient.open(`${proc.baseUrl}/channels/feed/listeners/${listenerId}/stream`);
    await proc.broadcast('feed', BROADCASTS, PAYLOAD_BYTES);
    const held = await proc.queue('feed', listenerId);
    const after = await proc.memory();
    const growthMb = (after.rss - baselineRss) / MB;
    process.stderr.write(
      `slow client, default limits: RSS growth ${growthMb.toFixed(1)} MB (heap ${(after.heapUsed / MB).toFixed(1)} MB), ` +
        `${held.size} messages left in the listener's queue, ${BROADCASTS - held.size} taken before the socket was full\n`,
    );
    // The server stopped taking messages once the socket was full: most wait in the queue.
    expect(held.size).toBeGreaterThan(BROADCASTS / 2);
    expect(held.dropped).toBe(0);
    expect(growthMb).toBeLessThan(RSS_GROWTH_BOUND_MB);

    client.resume();
    await client.waitFor(BROADCASTS);
    expect(client.received).toEqual(Array.from({ length: BROADCASTS }, (_, i) => i + 1));
  }, 120_000);

  it('with maxQueueSize 1,000 and drop-oldest, its queue stays at 1,000 and it gets the newest messages', async () => {
    const { listenerId, baselineRss } = await setUp({ maxQueueSize: 1000, queueOverflow: 'drop-oldest' });
    const proc = server as ServerProcess;
    client = await PausedSseClient.open(`${proc.baseUrl}/channels/feed/listeners/${listenerId}/stream`);
    await proc.broadcast('feed', BROADCASTS, PAYLOAD_BYTES);
    const held = await proc.queue('feed', listenerId);
    const taken = BROADCASTS - held.size - held.dropped;
    const growthMb = ((await proc.memory()).rss - baselineRss) / MB;
    process.stderr.write(
      `slow client, maxQueueSize 1000 drop-oldest: RSS growth ${growthMb.toFixed(1)} MB, ${held.size} queued, ` +
        `${held.dropped} dropped, ${taken} taken before the socket was full\n`,
    );
    expect(growthMb).toBeLessThan(RSS_GROWTH_BOUND_MB);
    expect(held).toEqual({ size: 1000, maxSize: 1000, dropped: BROADCASTS - 1000 - taken });
    expect(held.dropped).toBeGreaterThan(0);

    client.resume();
    await client.waitFor(BROADCASTS);
    // What the pump took before the socket filled (in order, none twice), then the newest 1,000.
    const { received } = client;
    expect(received.length).toBe(taken + 1000);
    expect(received.every((n, i) => i === 0 || n > received[i - 1])).toBe(true);
    expect(received[0]).toBe(1);
    expect(received.slice(-1000)).toEqual(Array.from({ length: 1000 }, (_, i) => BROADCASTS - 999 + i));
  }, 120_000);
});
