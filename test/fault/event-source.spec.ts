/**
 * The fault suite's EventSource-like client against the HTML spec's event-stream rules, and its
 * reconnecting against a small local server (no application involved).
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventStreamParser, FaultEventSource, type DispatchedEvent } from './event-source.js';
import { freePort } from './processes.js';

function parse(...chunks: (string | Uint8Array)[]): { events: DispatchedEvent[]; parser: EventStreamParser } {
  const events: DispatchedEvent[] = [];
  const parser = new EventStreamParser((event) => events.push(event));
  for (const chunk of chunks) {
    if (typeof chunk === 'string') parser.feed(chunk);
    else parser.feedBytes(chunk);
  }
  return { events, parser };
}

describe('EventStreamParser (HTML "Interpreting an event stream")', () => {
  it('ends lines with LF, CRLF or CR, also when a CRLF is split between chunks', () => {
    const { events } = parse('data: a\n\ndata: b\r\n\r\ndata: c\r\rdata: d\r', '\n\r', '\n');
    expect(events.map((event) => event.data)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('joins data lines with LF, strips one leading space, and takes a line without a colon as a field', () => {
    const { events } = parse('data:  two spaces\ndata\ndata:x\n\n');
    expect(events).toEqual([{ type: 'message', data: ' two spaces\n\nx', lastEventId: '' }]);
  });

  it('sets the type with event (message when empty), ignores comments and unknown fields', () => {
    const { events } = parse(': comment\nevent: tick\nfoo: bar\ndata: 1\n\nevent:\ndata: 2\n\n');
    expect(events.map((event) => [event.type, event.data])).toEqual([
      ['tick', '1'],
      ['message', '2'],
    ]);
  });

  it('sets the last event id on dispatch: an id-only block moves it without an event', () => {
    const { events, parser } = parse('id: 7\n\n');
    expect(events).toEqual([]);
    expect(parser.lastEventId).toBe('7');
    parser.feed('data: x\n\n');
    expect(events).toEqual([{ type: 'message', data: 'x', lastEventId: '7' }]);
  });

  it('ignores an id containing NUL, and an empty id clears the last event id', () => {
    const { parser } = parse('id: 3\n\n', 'id: 4\0\n\n');
    expect(parser.lastEventId).toBe('3');
    parser.feed('id\n\n');
    expect(parser.lastEventId).toBe('');
  });

  it('takes retry made of ASCII digits only, at once', () => {
    const { parser } = parse('retry: 1234\n');
    expect(parser.reconnectionTime).toBe(1234);
    parser.feed('retry: 12a\nretry: -1\nretry:  5\n');
    expect(parser.reconnectionTime).toBe(1234);
  });

  it('drops a block without data, and what a connection ended in the middle of (keeping the last id seen)', () => {
    const { events, parser } = parse('event: lonely\n\nid: 1\ndata: kept\n\nid: 2\ndata: cut');
    expect(events.map((event) => event.data)).toEqual(['kept']);
    parser.reset();
    parser.feed('\n\n');
    expect(events.map((event) => event.data)).toEqual(['kept']);
    expect(parser.lastEventId).toBe('1');
  });

  it('decodes UTF-8 split across chunks and ignores one leading BOM per stream', () => {
    const bytes = Buffer.from('\uFEFFdata: é€\n\n', 'utf8');
    const { events } = parse(bytes.subarray(0, 9), bytes.subarray(9));
    expect(events.map((event) => event.data)).toEqual(['é€']);
  });
});

/** Collects event data; `count(n)` resolves once n have arrived. */
function collector(): {
  data: string[];
  onEvent: (event: DispatchedEvent) => void;
  count: (n: number) => Promise<void>;
} {
  const data: string[] = [];
  let waiter: { n: number; resolve: () => void } | undefined;
  return {
    data,
    onEvent: (event) => {
      data.push(event.data);
      if (waiter !== undefined && data.length >= waiter.n) waiter.resolve();
    },
    count: (n) => (data.length >= n ? Promise.resolve() : new Promise<void>((resolve) => (waiter = { n, resolve }))),
  };
}

describe('FaultEventSource', () => {
  let server: Server | undefined;
  let source: FaultEventSource | undefined;

  afterEach(async () => {
    source?.close();
    if (server !== undefined) await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  async function serve(handler: (req: IncomingMessage, res: ServerResponse, count: number) => void): Promise<string> {
    let count = 0;
    server = createServer((req, res) => handler(req, res, count++));
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  }

  it('reconnects when the server ends the response, sending the last id seen only once it has one', async () => {
    const seen: (string | undefined)[] = [];
    const url = await serve((req, res, count) => {
      seen.push(req.headers['last-event-id'] as string | undefined);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (count === 0) res.end('retry: 10\n\n');
      else if (count === 1) res.end('id: 5\n\n');
      else res.end(`id: ${count + 5}\ndata: ${count}\n\n`);
    });
    const events = collector();
    source = new FaultEventSource({ url: () => url, onEvent: events.onEvent });
    source.start();
    await events.count(2);
    source.close();
    expect(seen.slice(0, 4)).toEqual([undefined, undefined, '5', '7']);
    expect(events.data.slice(0, 2)).toEqual(['2', '3']);
    expect(source.serverEnded).toBeGreaterThanOrEqual(3);
  });

  it('reconnects after a refused connection and after a response a browser gives up on', async () => {
    const refused = `http://127.0.0.1:${await freePort()}/`;
    const url = await serve((req, res, count) => {
      if (count === 0) {
        res.writeHead(503).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: up\n\n');
    });
    const events = collector();
    source = new FaultEventSource({ url: (attempt) => (attempt < 2 ? refused : url), onEvent: events.onEvent });
    source.start();
    await events.count(1);
    expect(source.connections.map((connection) => connection.end)).toEqual([
      'network-error',
      'network-error',
      'not-event-stream',
      undefined,
    ]);
    expect(source.notEventStream).toBe(1);
  });

  it('drops a connection right after its head, having parsed what came with it, and resumes from that id', async () => {
    const url = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(req.headers['last-event-id'] === undefined ? 'id: 7\n\n' : 'id: 8\ndata: after\n\n');
    });
    const events = collector();
    source = new FaultEventSource({ url: () => url, onEvent: events.onEvent });
    source.dropNextConnect('after-head');
    source.start();
    await events.count(1);
    const [first, second] = source.connections;
    expect([first.drop, first.end, first.events]).toEqual(['after-head', 'dropped', 0]);
    expect([second.sentLastEventId, second.events]).toEqual(['7', 1]);
    expect(source.lastEventId).toBe('8');
  });
});
