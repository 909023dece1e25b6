import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { EventSource } from 'eventsource';
import type { Socket } from 'node:net';
import { MESSAGE_TYPE_HISTORY_GAP } from '../../src/index.js';
import {
  addListener,
  dispatchAll,
  startResumeApp,
  stopped,
  streamUrl,
  summary,
  SseTestClient,
  STREAM_PATHS,
  type ResumeApp,
} from './support.js';

describe.each(STREAM_PATHS)('resuming SSE streams in memory (%s)', (path) => {
  let server: ResumeApp;
  const open: SseTestClient[] = [];

  beforeEach(async () => {
    server = await startResumeApp({ channels: [{ id: 'news' }], history: { maxEvents: 5 } });
  });

  afterEach(async () => {
    for (const client of open.splice(0)) client.close();
    await server.close();
  });

  const connect = async (listenerId: string, headers: Record<string, string> = {}, query = '') => {
    const client = await SseTestClient.open(streamUrl(server.origin, path, 'news', listenerId) + query, headers);
    open.push(client);
    expect(client.status).toBe(200);
    return client;
  };

  /** Closes the client and waits until the server has stopped the listener (its stream is over). */
  const leave = async (client: SseTestClient, listenerId: string) => {
    const gone = stopped(server.container.get('news').getListener(listenerId));
    client.close();
    await gone;
  };

  it('numbers events 1, 2, 3... per listener, and keeps counting across reconnects', async () => {
    const alice = await addListener(server.api, 'news');
    const bob = await addListener(server.api, 'news');
    await dispatchAll(server.api, 'news', alice, ['a1', 'a2']);
    await dispatchAll(server.api, 'news', bob, ['b1']);
    await server.api.post('/channels/news/broadcast').send({ type: 'all', payload: 'x' }).expect(202);
    const a = await connect(alice);
    const b = await connect(bob);
    expect(summary(await a.waitForEvents(3))).toEqual([
      ['a1', 'a1', '1'],
      ['a2', 'a2', '2'],
      ['all', 'x', '3'],
    ]);
    expect(summary(await b.waitForEvents(2))).toEqual([
      ['b1', 'b1', '1'],
      ['all', 'x', '2'],
    ]);
    await leave(a, alice);
    const again = await connect(alice);
    await dispatchAll(server.api, 'news', alice, ['a3']);
    expect(summary(await again.waitForEvents(1))).toEqual([['a3', 'a3', '4']]);
  });

  it('with Last-Event-ID, sends the events after it from the history, then the queue: in order, once', async () => {
    const listener = await addListener(server.api, 'news');
    const first = await connect(listener);
    await dispatchAll(server.api, 'news', listener, ['e1', 'e2', 'e3', 'e4']);
    await first.waitForEvents(4);
    await leave(first, listener);
    await dispatchAll(server.api, 'news', listener, ['e5', 'e6']); // queued while nobody streams
    // As if e3 and e4 had been lost on the way: the client last saw id 2.
    const resumed = await connect(listener, { 'Last-Event-ID': '2' });
    expect(summary(await resumed.waitForEvents(4))).toEqual([
      ['e3', 'e3', '3'],
      ['e4', 'e4', '4'],
      ['e5', 'e5', '5'],
      ['e6', 'e6', '6'],
    ]);
    await dispatchAll(server.api, 'news', listener, ['e7']);
    expect(summary(await resumed.waitForEvents(5)).at(-1)).toEqual(['e7', 'e7', '7']);
    expect(resumed.events).toHaveLength(5);
  });

  it('resuming from the last id received sends only the queue: nothing is repeated', async () => {
    const listener = await addListener(server.api, 'news');
    const first = await connect(listener);
    await dispatchAll(server.api, 'news', listener, ['e1', 'e2']);
    await first.waitForEvents(2);
    await leave(first, listener);
    await dispatchAll(server.api, 'news', listener, ['e3']);
    const resumed = await connect(listener, { 'Last-Event-ID': first.lastEventId as string });
    expect(summary(await resumed.waitForEvents(1))).toEqual([['e3', 'e3', '3']]);
    await dispatchAll(server.api, 'news', listener, ['e4']);
    expect(summary(await resumed.waitForEvents(2))).toEqual([
      ['e3', 'e3', '3'],
      ['e4', 'e4', '4'],
    ]);
  });

  it('takes the id from the lastEventId query parameter for clients that cannot set headers; the header wins', async () => {
    const listener = await addListener(server.api, 'news');
    const first = await connect(listener);
    await dispatchAll(server.api, 'news', listener, ['e1', 'e2', 'e3']);
    await first.waitForEvents(3);
    await leave(first, listener);
    const byQuery = await connect(listener, {}, '?lastEventId=1');
    expect(summary(await byQuery.waitForEvents(2))).toEqual([
      ['e2', 'e2', '2'],
      ['e3', 'e3', '3'],
    ]);
    await leave(byQuery, listener);
    const both = await connect(listener, { 'Last-Event-ID': '2' }, '?lastEventId=0');
    expect(summary(await both.waitForEvents(1))).toEqual([['e3', 'e3', '3']]);
    await dispatchAll(server.api, 'news', listener, ['e4']);
    expect((await both.waitForEvents(2)).map((e) => e.id)).toEqual(['3', '4']);
  });

  it(`answers an id older than the history with ${MESSAGE_TYPE_HISTORY_GAP} first, then what it holds`, async () => {
    const listener = await addListener(server.api, 'news');
    const first = await connect(listener);
    await dispatchAll(server.api, 'news', listener, ['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8']);
    await first.waitForEvents(8);
    await leave(first, listener);
    // The history keeps 5 events: 4..8. The client last saw 1, so 2 and 3 are gone.
    const resumed = await connect(listener, { 'Last-Event-ID': '1' });
    const events = await resumed.waitForEvents(6);
    expect(events[0]).toEqual({
      event: MESSAGE_TYPE_HISTORY_GAP,
      data: JSON.stringify({ lastEventId: 1, firstAvailableId: 4 }),
      id: '3',
    });
    expect(summary(events.slice(1))).toEqual([4, 5, 6, 7, 8].map((n) => [`e${n}`, `e${n}`, String(n)]));
    // Resuming from the marker's id is not a gap any more.
    await leave(resumed, listener);
    const again = await connect(listener, { 'Last-Event-ID': '3' });
    expect((await again.waitForEvents(5)).map((e) => e.id)).toEqual(['4', '5', '6', '7', '8']);
  });

  it.each([
    ['from the future', '99'],
    ['malformed', 'abc'],
    ['negative', '-1'],
    ['fractional', '1.5'],
    ['empty', ''],
  ])('ignores an id %s: the stream starts from the queue, ids go on', async (_, lastEventId) => {
    const listener = await addListener(server.api, 'news');
    const first = await connect(listener);
    await dispatchAll(server.api, 'news', listener, ['e1', 'e2']);
    await first.waitForEvents(2);
    await leave(first, listener);
    await dispatchAll(server.api, 'news', listener, ['e3']);
    const resumed = await connect(listener, { 'Last-Event-ID': lastEventId });
    expect(summary(await resumed.waitForEvents(1))).toEqual([['e3', 'e3', '3']]);
    await dispatchAll(server.api, 'news', listener, ['e4']);
    expect((await resumed.waitForEvents(2)).map((e) => e.id)).toEqual(['3', '4']);
  });

  it('a real EventSource gets the ids and sends the last one back when it reconnects after a network failure', async () => {
    const listener = await addListener(server.api, 'news');
    const sockets = new Set<Socket>();
    server.app.getHttpServer().on('connection', (socket: Socket) => sockets.add(socket));
    const sentLastEventIds: (string | null)[] = [];
    const source = new EventSource(streamUrl(server.origin, path, 'news', listener), {
      fetch: (input, init) => {
        sentLastEventIds.push(new Headers(init?.headers).get('last-event-id'));
        return fetch(input, init);
      },
    });
    const received: { data: string; id: string }[] = [];
    let onMessage = (): void => undefined;
    source.addEventListener('e', (event) => {
      received.push({ data: event.data as string, id: event.lastEventId });
      onMessage();
    });
    const count = (n: number) =>
      new Promise<void>((resolve) => {
        onMessage = () => received.length >= n && resolve();
        onMessage();
      });
    try {
      await new Promise((resolve) => (source.onopen = resolve));
      const reopened = new Promise((resolve) => (source.onopen = resolve));
      await dispatchAll(server.api, 'news', listener, ['e', 'e']);
      await count(2);
      const gone = stopped(server.container.get('news').getListener(listener));
      for (const socket of sockets) socket.destroy(); // the network drops the stream
      await gone;
      await dispatchAll(server.api, 'news', listener, ['e']);
      await reopened;
      await count(3);
      expect(received).toEqual([
        { data: 'e', id: '1' },
        { data: 'e', id: '2' },
        { data: 'e', id: '3' },
      ]);
      expect(sentLastEventIds).toEqual([null, '2']);
    } finally {
      source.close();
    }
  });

  it('a watch stream numbers its events from 1 and resumes nothing (it is a fresh listener)', async () => {
    const url =
      path === 'fast path' ? `${server.origin}/eric-sse/channels/news/watch` : `${server.origin}/r/watch/news`;
    const watcher = await SseTestClient.open(url, { 'Last-Event-ID': '1' });
    open.push(watcher);
    await server.api.post('/channels/news/broadcast').send({ type: 'w', payload: 1 }).expect(202);
    await server.api.post('/channels/news/broadcast').send({ type: 'w', payload: 2 }).expect(202);
    expect(summary(await watcher.waitForEvents(2))).toEqual([
      ['w', '1', '1'],
      ['w', '2', '2'],
    ]);
  });
});

describe.each(STREAM_PATHS)('history: false (%s)', (path) => {
  let server: ResumeApp;
  const open: SseTestClient[] = [];

  beforeEach(async () => {
    server = await startResumeApp({ channels: [{ id: 'news' }], history: false });
  });

  afterEach(async () => {
    for (const client of open.splice(0)) client.close();
    await server.close();
  });

  const connect = async (listenerId: string, headers: Record<string, string> = {}) => {
    const client = await SseTestClient.open(streamUrl(server.origin, path, 'news', listenerId), headers);
    open.push(client);
    expect(client.status).toBe(200);
    return client;
  };

  // Without a history the fast path writes no id lines; on the @Sse path Nest numbers each connection's
  // events itself (1, 2, ... again on every connection), which a resume then cannot use.
  const ids = (events: { id?: string }[]) => events.map((event) => event.id);
  const noIds = (count: number) => (path === 'fast path' ? Array(count).fill(undefined) : undefined);
  const pairs = (events: { event: string; data: string }[]) => events.map((e) => [e.event, e.data]);

  it('sends no ids of its own and, with Last-Event-ID, only the queue: nothing is kept to replay', async () => {
    const listener = await addListener(server.api, 'news');
    const first = await connect(listener);
    await dispatchAll(server.api, 'news', listener, ['e1', 'e2']);
    const firstEvents = await first.waitForEvents(2);
    expect(pairs(firstEvents)).toEqual([
      ['e1', 'e1'],
      ['e2', 'e2'],
    ]);
    expect(ids(firstEvents)).toEqual(noIds(2) ?? ['1', '2']);
    const gone = stopped(server.container.get('news').getListener(listener));
    first.close();
    await gone;
    await dispatchAll(server.api, 'news', listener, ['e3']);
    const resumed = await connect(listener, { 'Last-Event-ID': '1' });
    await dispatchAll(server.api, 'news', listener, ['e4']);
    const resumedEvents = await resumed.waitForEvents(2);
    expect(pairs(resumedEvents)).toEqual([
      ['e3', 'e3'],
      ['e4', 'e4'],
    ]);
    expect(ids(resumedEvents)).toEqual(noIds(2) ?? ['1', '2']);
  });
});

describe.each(STREAM_PATHS)('keep-alive comments (%s)', (path) => {
  let server: ResumeApp;

  afterEach(async () => {
    await server.close();
  });

  it('writes a comment line on an idle stream every keepAliveMilliseconds, which clients ignore', async () => {
    server = await startResumeApp({ channels: [{ id: 'news' }], keepAliveMilliseconds: 20 });
    const listener = await addListener(server.api, 'news');
    const client = await SseTestClient.open(streamUrl(server.origin, path, 'news', listener));
    try {
      // Fast path: ':' alone; Nest writes the @Sse helper's comment-only events as ': '.
      const comment = path === 'fast path' ? /(^|\n):\n\n/ : /(^|\n): \n\n/;
      await client.waitForRaw((raw) => (raw.match(new RegExp(comment, 'g')) ?? []).length >= 2);
      expect(client.events).toEqual([]);
      await dispatchAll(server.api, 'news', listener, ['after']);
      expect(summary(await client.waitForEvents(1))).toEqual([['after', 'after', '1']]);
    } finally {
      client.close();
    }
  });

  it('writes none with keepAliveMilliseconds: 0', async () => {
    server = await startResumeApp({ channels: [{ id: 'news' }], keepAliveMilliseconds: 0 });
    const { activeKeepAliveTimers } = await import('../../src/sse/keep-alive.js');
    const listener = await addListener(server.api, 'news');
    const client = await SseTestClient.open(streamUrl(server.origin, path, 'news', listener));
    try {
      await dispatchAll(server.api, 'news', listener, ['one']);
      await client.waitForEvents(1);
      expect(activeKeepAliveTimers()).toBe(0);
    } finally {
      client.close();
    }
  });
});
