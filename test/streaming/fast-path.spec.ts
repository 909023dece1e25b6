import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { EventSource } from 'eventsource';
import { once } from 'node:events';
import { ServerResponse } from 'node:http';
import { Socket, connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import {
  ChannelContainer,
  InMemoryQueue,
  Message,
  MessageQueueListener,
  SSEChannel,
  setEricLogger,
  type MessageContract,
} from '../../src/index.js';
import { SseTestClient } from '../resume/support.js';
import { RawSseClient, nextTurn, startApp, stopped, type StreamingApp } from './support.js';

describe('EricSseStreams.pipe / pipeWatch (fast path)', () => {
  let container: ChannelContainer;
  let channel: SSEChannel;
  let server: StreamingApp;

  beforeEach(async () => {
    container = new ChannelContainer();
    channel = new SSEChannel({ channelId: 'news' });
    container.register(channel);
    server = await startApp(container);
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    setEricLogger();
    await server.close();
  });

  it('answers with the SSE headers at once and streams events', async () => {
    const listener = await channel.addListener();
    const client = await RawSseClient.open(`${server.baseUrl}/pipe/news/${listener.id}`);
    expect(client.status).toBe(200);
    expect(client.headers).toMatchObject({
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    expect(listener.isRunning()).toBe(true);
    await channel.dispatch(listener.id, new Message('greeting', 'line 1\r\nline 2'));
    await channel.broadcast(new Message('count', { n: 1 }));
    await channel.broadcast(new Message('empty'));
    expect(await client.waitForEvents(3)).toEqual([
      { id: '1', event: 'greeting', data: 'line 1\nline 2', retry: 5 },
      { id: '2', event: 'count', data: '{"n":1}', retry: 5 },
      { id: '3', event: 'empty', data: '', retry: 5 },
    ]);
    client.close();
  });

  it('streams to a real EventSource', async () => {
    const listener = await channel.addListener();
    const source = new EventSource(`${server.baseUrl}/pipe/news/${listener.id}`);
    try {
      const received = new Promise<MessageEvent>((resolve) => source.addEventListener('greeting', resolve));
      await new Promise((resolve) => (source.onopen = resolve));
      await channel.broadcast(new Message('greeting', { to: 'you' }));
      const event = await received;
      expect(JSON.parse(event.data as string)).toEqual({ to: 'you' });
    } finally {
      source.close();
    }
  });

  it('writes the messages queued while nobody streamed as one batch, straight to the socket', async () => {
    const listener = await channel.addListener();
    for (let i = 0; i < 50; i++) await channel.dispatch(listener.id, new Message('n', i));
    const socketWrite = jest.spyOn(Socket.prototype, 'write');
    const client = await RawSseClient.open(`${server.baseUrl}/pipe/news/${listener.id}`);
    const events = await client.waitForEvents(50);
    expect(events.map((e) => Number(e.data))).toEqual([...Array(50).keys()]);
    const frameWrites = socketWrite.mock.calls.filter(([data]) => String(data).includes('event: n'));
    expect(frameWrites).toHaveLength(1);
    // One write holds whole HTTP chunks (size line, frames, CRLF): made here, not by res.write.
    expect(String(frameWrites[0][0])).toMatch(/^[0-9a-f]+\r\nid: 1\nevent: n\n[^]*\r\n$/);
    client.close();
  });

  it('goes through res.write, batched too, when something wraps it (e.g. a compression middleware)', async () => {
    const listener = await channel.addListener();
    for (let i = 0; i < 50; i++) await channel.dispatch(listener.id, new Message('n', i));
    const write = jest.spyOn(ServerResponse.prototype, 'write');
    const client = await RawSseClient.open(`${server.baseUrl}/pipe/news/${listener.id}`);
    const events = await client.waitForEvents(50);
    expect(events.map((e) => Number(e.data))).toEqual([...Array(50).keys()]);
    // The resume point (an id-only event, with the head), then the 50 queued messages in one write.
    expect(write).toHaveBeenCalledTimes(2);
    expect(String(write.mock.calls[0][0])).toBe('id: 0\n\n');
    await channel.dispatch(listener.id, new Message('n', 50));
    expect((await client.waitForEvents(51))[50].data).toBe('50');
    expect(write).toHaveBeenCalledTimes(3);
    client.close();
  });

  it('stops the listener when the client leaves; what is sent meanwhile arrives on reconnect', async () => {
    const listener = await channel.addListener();
    const url = `${server.baseUrl}/pipe/news/${listener.id}`;
    const first = await RawSseClient.open(url);
    await channel.dispatch(listener.id, new Message('a', 1));
    await first.waitForEvents(1);
    const gone = stopped(listener);
    first.close();
    await gone;
    expect(listener.isRunning()).toBe(false);
    expect(server.streams.openStreams).toBe(0);

    await channel.dispatch(listener.id, new Message('b', 2));
    await channel.broadcast(new Message('c', 3));
    expect((channel.getConnection(listener.id).queue as InMemoryQueue).size).toBe(2);
    const second = await RawSseClient.open(url);
    const events = await second.waitForEvents(2);
    expect(events.map((e) => [e.event, e.data])).toEqual([
      ['b', '2'],
      ['c', '3'],
    ]);
    second.close();
  });

  it('sends the resume point (an id-only event, the last id given) in the same write as the head', async () => {
    const listener = await channel.addListener();
    await channel.dispatch(listener.id, new Message('seen', 1));
    const seen = await RawSseClient.open(`${server.baseUrl}/pipe/news/${listener.id}`);
    await seen.waitForEvents(1);
    const gone = stopped(listener);
    seen.close();
    await gone;

    const { port } = server.app.getHttpServer().address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    socket.write(`GET /s/pipe/news/${listener.id} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`);
    const [first] = (await once(socket, 'data')) as [Buffer];
    const text = first.toString();
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    // Chunked: the size line, then the id-only event (no data line: a browser dispatches nothing).
    expect(text).toMatch(/\r\n\r\n[0-9a-f]+\r\nid: 1\n\n\r\n$/);
    socket.destroy();
  });

  it('a client dropped before it saw any message resumes from the resume point and misses nothing', async () => {
    const listener = await channel.addListener();
    const { port } = server.app.getHttpServer().address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    socket.write(`GET /s/pipe/news/${listener.id} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const [first] = (await once(socket, 'data')) as [Buffer];
    const resumePoint = /id: (\d+)\n\n/.exec(first.toString())?.[1];
    expect(resumePoint).toBe('0');
    // The client stops reading: what the server writes now never reaches it, then the connection drops.
    socket.pause();
    const gone = stopped(listener);
    for (let i = 0; i < 3; i++) await channel.broadcast(new Message('lost?', i));
    await nextTurn();
    expect((channel.getConnection(listener.id).queue as InMemoryQueue).size).toBe(0); // written to the socket
    socket.destroy();
    await gone;

    // It reconnects as an EventSource does, with the last id it saw: the resume point.
    const again = await SseTestClient.open(`${server.baseUrl}/pipe/news/${listener.id}`, {
      'Last-Event-ID': resumePoint as string,
    });
    const events = await again.waitForEvents(3);
    expect(events.map((e) => [e.id, e.data])).toEqual([
      ['1', '0'],
      ['2', '1'],
      ['3', '2'],
    ]);
    again.close();
  });

  it('a client whose connection was reset before it read anything gets it all again without an id', async () => {
    const listener = await channel.addListener();
    const { port } = server.app.getHttpServer().address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    socket.pause(); // reads nothing: what the server writes stays unread, not even the head is seen
    socket.write(`GET /s/pipe/news/${listener.id} HTTP/1.1\r\nHost: x\r\n\r\n`);
    while (!listener.isRunning()) await nextTurn(); // the server has the request and streams
    for (let i = 0; i < 3; i++) await channel.broadcast(new Message('unread', i));
    const queue = channel.getConnection(listener.id).queue as InMemoryQueue;
    while (queue.size > 0) await nextTurn(); // written to the connection
    const gone = stopped(listener);
    socket.resetAndDestroy(); // unread data discarded: the server sees a reset
    await gone;

    // It never saw an id, so it reconnects without one, and gets what the reset connection was sent.
    const again = await SseTestClient.open(`${server.baseUrl}/pipe/news/${listener.id}`);
    const events = await again.waitForEvents(3);
    expect(events.map((e) => [e.id, e.data])).toEqual([
      ['1', '0'],
      ['2', '1'],
      ['3', '2'],
    ]);
    again.close();
  });

  it('a client that read its events and left cleanly gets only the queue when it reconnects without an id', async () => {
    const listener = await channel.addListener();
    const url = `${server.baseUrl}/pipe/news/${listener.id}`;
    const first = await RawSseClient.open(url);
    await channel.broadcast(new Message('read', 1));
    await first.waitForEvents(1);
    const gone = stopped(listener);
    first.close();
    await gone;
    await channel.broadcast(new Message('queued', 2));
    const second = await RawSseClient.open(url);
    expect((await second.waitForEvents(1)).map((e) => [e.id, e.data])).toEqual([['2', '2']]);
    second.close();
  });

  it('ends the response cleanly when the listener is stopped or removed server-side', async () => {
    const listener = await channel.addListener();
    const client = await RawSseClient.open(`${server.baseUrl}/pipe/news/${listener.id}`);
    await channel.dispatch(listener.id, new Message('a', 1));
    await client.waitForEvents(1);
    listener.stop();
    await client.ended;
    expect(client.raw.endsWith('\n\n')).toBe(true);
    expect(server.streams.openStreams).toBe(0);

    const other = await channel.addListener();
    const second = await RawSseClient.open(`${server.baseUrl}/pipe/news/${other.id}`);
    await channel.removeListener(other.id);
    await second.ended;
    expect(second.events).toEqual([]);
  });

  it('answers 404 JSON naming the error for unknown ids, before any SSE header', async () => {
    const listener = await channel.addListener();
    for (const [path, error, message] of [
      [`/pipe/nope/${listener.id}`, 'InvalidChannelException', 'No channel with id nope'],
      ['/pipe/news/ghost', 'InvalidListenerException', 'No listener with id ghost in channel news'],
      ['/pipe-watch/nope', 'InvalidChannelException', 'No channel with id nope'],
    ]) {
      const response = await fetch(server.baseUrl + path);
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(response.headers.get('x-accel-buffering')).toBeNull();
      expect(await response.json()).toEqual({ statusCode: 404, error, message });
    }
    expect(listener.isRunning()).toBe(false);
    expect(channel.getConnections()).toHaveLength(1);
  });

  it('watch: a fresh listener per connection, removed when the client leaves', async () => {
    const client = await RawSseClient.open(`${server.baseUrl}/pipe-watch/news`);
    expect(client.headers['content-type']).toBe('text/event-stream');
    const [watcher] = channel.getConnections();
    expect(watcher.listener.isRunning()).toBe(true);
    await channel.broadcast(new Message('hello', 'all'));
    expect(await client.waitForEvents(1)).toEqual([{ id: '1', event: 'hello', data: 'all', retry: 5 }]);
    const gone = stopped(watcher.listener);
    client.close();
    await gone;
    expect(channel.getConnections()).toEqual([]);
  });

  it('watch: the listener is removed when the stream ends server-side', async () => {
    const client = await RawSseClient.open(`${server.baseUrl}/pipe-watch/news`);
    const [watcher] = channel.getConnections();
    watcher.listener.stop();
    await client.ended;
    expect(channel.getConnections()).toEqual([]);
  });

  it('serializes a broadcast once for every client', async () => {
    const listeners = [await channel.addListener(), await channel.addListener(), await channel.addListener()];
    const clients = await Promise.all(listeners.map((l) => RawSseClient.open(`${server.baseUrl}/pipe/news/${l.id}`)));
    const stringify = jest.spyOn(JSON, 'stringify');
    const { hits, misses } = server.streams.frames;
    await channel.broadcast(new Message('big', { text: 'x'.repeat(100) }));
    const received = await Promise.all(clients.map((c) => c.waitForEvents(1)));
    expect(received.map(([e]) => e.data)).toEqual(Array(3).fill(JSON.stringify({ text: 'x'.repeat(100) })));
    expect(server.streams.frames.misses - misses).toBe(1);
    expect(server.streams.frames.hits - hits).toBe(2);
    expect(stringify.mock.calls.filter(([value]) => (value as { text?: string })?.text !== undefined)).toHaveLength(2);
    for (const c of clients) c.close();
  });

  it.each([
    ['straight to the socket', false],
    ['through a wrapped res.write', true],
  ])(
    'writing %s, leaves messages in the queue of a client that does not read, then delivers them',
    async (_, wrapped) => {
      if (wrapped) jest.spyOn(ServerResponse.prototype, 'write');
      const listener = await channel.addListener();
      const queue = channel.getConnection(listener.id).queue as InMemoryQueue;
      const httpServer = server.app.getHttpServer();
      const serverSocket = new Promise<Socket>((resolve) => httpServer.once('connection', resolve));
      const { port } = httpServer.address() as AddressInfo;
      const client = connect(port, '127.0.0.1');
      client.setEncoding('latin1');
      client.write(`GET /s/pipe/news/${listener.id} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      let received = '';
      await new Promise<void>((resolve) =>
        client.on('data', (chunk: string) => {
          received += chunk;
          if (received.includes('\r\n\r\n')) resolve();
        }),
      );
      client.pause();
      const socket = await serverSocket;

      const big = 'y'.repeat(64 * 1024);
      let sent = 0;
      while (queue.size === 0 && sent < 2000) {
        await channel.broadcast(new Message('big', big));
        sent++;
        await nextTurn();
      }
      expect(queue.size).toBeGreaterThan(0); // the socket filled up and the stream stopped pulling
      const buffered = socket.writableLength;
      expect(buffered).toBeLessThan(256 * 1024);
      const waiting = queue.size;
      for (let i = 0; i < 20; i++) {
        await channel.broadcast(new Message('big', big));
        sent++;
        await nextTurn();
      }
      expect(queue.size).toBe(waiting + 20);
      expect(socket.writableLength).toBe(buffered);

      const all = new Promise<void>((resolve) => {
        let count = received.split('event: big\n').length - 1;
        client.on('data', (chunk: string) => {
          count += chunk.split('event: big\n').length - 1;
          if (count === sent) resolve();
        });
      });
      client.resume();
      await all;
      expect(queue.size).toBe(0);
      client.destroy();
    },
  );

  it('writes keep-alive comments while idle, and leaves no timer behind', async () => {
    const { activeKeepAliveTimers } = await import('../../src/sse/keep-alive.js');
    const listener = await channel.addListener();
    const client = await RawSseClient.open(`${server.baseUrl}/pipe/news/${listener.id}?keepAlive=10`);
    expect(activeKeepAliveTimers()).toBeGreaterThan(0);
    await new Promise<void>((resolve) =>
      client.response.on('data', () => {
        if (client.raw.includes(':\n\n')) resolve();
      }),
    );
    const gone = stopped(listener);
    client.close();
    await gone;
    expect(activeKeepAliveTimers()).toBe(0);
  });

  it('rejects a bad keep-alive option before sending anything', async () => {
    const listener = await channel.addListener();
    const res = { writeHead: jest.fn() } as unknown as ServerResponse;
    expect(() => server.streams.pipe({} as never, res, 'news', listener.id, { keepAliveMilliseconds: -1 })).toThrow(
      expect.objectContaining({
        name: 'InvalidConfigurationException',
        message: expect.stringContaining('keepAliveMilliseconds'),
      }),
    );
    expect(res.writeHead).not.toHaveBeenCalled();
    expect(listener.isRunning()).toBe(false);
  });

  it('ends every open stream when the app shuts down', async () => {
    const listener = await channel.addListener();
    const client = await RawSseClient.open(`${server.baseUrl}/pipe/news/${listener.id}`);
    const watcher = await RawSseClient.open(`${server.baseUrl}/pipe-watch/news`);
    expect(server.streams.openStreams).toBe(2);
    await server.close();
    await Promise.all([client.ended, watcher.ended]);
    expect(listener.isRunning()).toBe(false);
    expect(channel.getConnections().map((c) => c.listener.id)).toEqual([listener.id]);
    server = await startApp(new ChannelContainer()); // afterEach closes it
  });

  it('ends the response and logs the error when the listener fails to handle a message', async () => {
    const errors: unknown[] = [];
    setEricLogger({ debug: () => {}, error: (message, error) => errors.push([message, (error as Error).message]) });
    class Failing extends MessageQueueListener {
      override onMessage(_msg: MessageContract): void {
        throw new Error('handler broke');
      }
    }
    const listener = new Failing();
    await channel.registerListener(listener);
    const client = await RawSseClient.open(`${server.baseUrl}/pipe/news/${listener.id}`);
    await channel.dispatch(listener.id, new Message('a'));
    await client.ended;
    expect(errors).toEqual([['SSE stream failed; response ended', 'handler broke']]);
    expect(server.streams.openStreams).toBe(0);
  });
});
