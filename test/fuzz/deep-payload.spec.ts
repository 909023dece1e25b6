import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertPayloadDepth, MAX_PAYLOAD_DEPTH } from '../../src/core/payload-depth.js';
import { InMemoryQueue, InvalidMessageFormat, SocketServer, type ChannelContainer } from '../../src/index.js';
import { SseClient, startRestApp, type RestApp } from '../rest/support.js';
import { exchange, StreamConnection } from './support/socket-wire.js';

/** `[[[...]]]`, `depth` arrays deep. */
function nestedArrays(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

/** `{"a": {"a": ... {}}}`, `depth` objects deep. */
function nestedObjects(depth: number): string {
  return '{"a": '.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);
}

function queueLength(container: ChannelContainer, channelId: string, listenerId: string): number {
  return (container.get(channelId).getConnection(listenerId).queue as InMemoryQueue).peekAll().length;
}

/**
 * Found by the socket and REST fuzzers: a payload nested a few thousand levels deep was accepted
 * (`ack`, 202), then could not be encoded for a stream (the call stack ran out), so the socket stream
 * died with a `RangeError` answer and the SSE stream skipped the message: accepted, then lost.
 */
describe('payloads nested deeper than MAX_PAYLOAD_DEPTH', () => {
  it('assertPayloadDepth accepts MAX_PAYLOAD_DEPTH levels and refuses one more, at any depth, without recursion', () => {
    expect(() => assertPayloadDepth(JSON.parse(nestedArrays(MAX_PAYLOAD_DEPTH)))).not.toThrow();
    expect(() => assertPayloadDepth(JSON.parse(nestedObjects(MAX_PAYLOAD_DEPTH)))).not.toThrow();
    for (const payload of [nestedArrays(MAX_PAYLOAD_DEPTH + 1), nestedObjects(MAX_PAYLOAD_DEPTH + 1)]) {
      expect(() => assertPayloadDepth(JSON.parse(payload))).toThrow(
        new InvalidMessageFormat(`The payload nests deeper than ${MAX_PAYLOAD_DEPTH} levels of arrays and objects`),
      );
    }
    expect(() => assertPayloadDepth(JSON.parse(nestedArrays(1_000_000)))).toThrow(InvalidMessageFormat);
    expect(() => assertPayloadDepth('text')).not.toThrow();
    expect(() => assertPayloadDepth(null)).not.toThrow();
    expect(() => assertPayloadDepth({ a: [1, { b: [] }] }, 4)).not.toThrow();
    expect(() => assertPayloadDepth({ a: [1, { b: [] }] }, 3)).toThrow(InvalidMessageFormat);
  });

  describe('over the socket protocol', () => {
    let dir: string;
    let server: SocketServer;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'eric-deep-'));
      server = await SocketServer.start(join(dir, 'eric.sock'), { streamProbeIntervalMs: 5 });
    });

    afterAll(async () => {
      await server?.shutdown();
      await rm(dir, { recursive: true, force: true });
    });

    const send = (command: string): Promise<string> =>
      exchange(server.path, Buffer.from(command), command.slice(0, 40));

    it('refuses b and d with a deeper payload, queueing nothing; MAX_PAYLOAD_DEPTH levels stream whole', async () => {
      const channelId = await send('{"v": "c"}');
      const listenerId = await send(`{"v": "r", "c": "${channelId}"}`);
      const refusal = `InvalidMessageFormat('The payload nests deeper than ${MAX_PAYLOAD_DEPTH} levels of arrays and objects')`;
      const deep = nestedArrays(MAX_PAYLOAD_DEPTH + 1);
      expect(await send(`{"v": "b", "c": "${channelId}", "t": "deep", "p": ${deep}}`)).toBe(refusal);
      expect(await send(`{"v": "d", "c": "${channelId}", "r": "${listenerId}", "t": "deep", "p": ${deep}}`)).toBe(
        refusal,
      );
      expect(queueLength(server.container, channelId, listenerId)).toBe(0);

      const deepest = nestedObjects(MAX_PAYLOAD_DEPTH);
      expect(await send(`{"v": "b", "c": "${channelId}", "t": "deepest", "p": ${deepest}}`)).toBe('ack');
      const stream = StreamConnection.open(
        server.path,
        Buffer.from(`{"v": "l", "c": "${channelId}", "r": "${listenerId}"}`),
      );
      try {
        const line = await stream.nextLine('the deepest payload');
        expect(line).toBe(`{"event": "deepest", "retry": 5, "data": ${deepest}}\n`);
      } finally {
        await stream.close();
      }
    });
  });

  describe('over REST', () => {
    let app: RestApp;

    beforeAll(async () => {
      app = await startRestApp({ module: { rest: {}, channels: [{ id: 'news' }] } });
    });

    afterAll(async () => {
      await app?.close();
    });

    it('answers 400 InvalidMessageFormat for a deeper broadcast or dispatch, queueing nothing', async () => {
      const { id: listenerId } = (await app.api.post('/channels/news/listeners').expect(201)).body as { id: string };
      const body = `{"type": "deep", "payload": ${nestedArrays(MAX_PAYLOAD_DEPTH + 1)}}`;
      for (const path of ['/channels/news/broadcast', `/channels/news/listeners/${listenerId}/messages`]) {
        const answer = await app.api.post(path).set('content-type', 'application/json').send(body).expect(400);
        expect(answer.body).toEqual({
          statusCode: 400,
          error: 'InvalidMessageFormat',
          message: `The payload nests deeper than ${MAX_PAYLOAD_DEPTH} levels of arrays and objects`,
        });
      }
      expect(queueLength(app.container, 'news', listenerId)).toBe(0);
    });

    it('streams a payload of MAX_PAYLOAD_DEPTH levels whole', async () => {
      const { id: listenerId } = (await app.api.post('/channels/news/listeners').expect(201)).body as { id: string };
      const deepest = nestedObjects(MAX_PAYLOAD_DEPTH);
      await app.api
        .post('/channels/news/broadcast')
        .set('content-type', 'application/json')
        .send(`{"type": "deepest", "payload": ${deepest}}`)
        .expect(202);
      const client = await SseClient.open(`${app.baseUrl}/channels/news/listeners/${listenerId}/stream`);
      try {
        const [event] = await client.waitForEvents(1);
        expect(event).toEqual({ event: 'deepest', data: deepest.replace(/: /g, ':') });
      } finally {
        client.close();
      }
    });
  });
});
