import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { EventSource } from 'eventsource';
import { lastValueFrom, take, toArray } from 'rxjs';
import {
  ChannelContainer,
  EricSseStreams,
  Message,
  MessageQueueListener,
  SSEChannel,
  UniqueMessage,
  type MessageContract,
} from '../../src/index.js';
import { RawSseClient, startApp, stopped, type StreamingApp } from './support.js';

describe('EricSseStreams.events / watchEvents (@Sse helper)', () => {
  let container: ChannelContainer;
  let channel: SSEChannel;
  let server: StreamingApp;

  beforeEach(async () => {
    container = new ChannelContainer();
    channel = new SSEChannel({ channelId: 'news', retryTimeoutMilliseconds: 1500 });
    container.register(channel);
    server = await startApp(container);
  });

  afterEach(async () => {
    await server.close();
  });

  it('streams a listener to a real EventSource: type, data as sent, retry', async () => {
    const listener = await channel.addListener();
    const source = new EventSource(`${server.baseUrl}/events/news/${listener.id}`);
    try {
      const received: { type: string; data: string }[] = [];
      const done = new Promise<void>((resolve) => {
        const record = (e: MessageEvent) => {
          received.push({ type: e.type, data: e.data as string });
          if (received.length === 3) resolve();
        };
        source.addEventListener('greeting', record);
        source.addEventListener('count', record);
      });
      await new Promise((resolve) => (source.onopen = resolve));
      expect(listener.isRunning()).toBe(true);
      await channel.dispatch(listener.id, new Message('greeting', 'hello\nworld'));
      await channel.broadcast(new Message('count', { n: 1 }));
      await channel.broadcast(new Message('greeting', 'bye'));
      await done;
      expect(received).toEqual([
        { type: 'greeting', data: 'hello\nworld' },
        { type: 'count', data: '{"n":1}' },
        { type: 'greeting', data: 'bye' },
      ]);
    } finally {
      source.close();
    }
  });

  it("sends retry from the channel and the listener's event id, not the message's own id", async () => {
    const listener = await channel.addListener();
    const client = await RawSseClient.open(`${server.baseUrl}/events/news/${listener.id}`);
    expect(client.status).toBe(200);
    expect(client.headers['content-type']).toBe('text/event-stream');
    await channel.dispatch(listener.id, new UniqueMessage(new Message('tick', 7), undefined, 'msg-1'));
    const [event] = await client.waitForEvents(1);
    expect(event).toEqual({ event: 'tick', data: '7', id: '1', retry: 1500 });
    client.close();
  });

  it('stops the listener when the client leaves; what is sent meanwhile arrives on reconnect', async () => {
    const listener = await channel.addListener();
    const url = `${server.baseUrl}/events/news/${listener.id}`;
    const first = await RawSseClient.open(url);
    await channel.dispatch(listener.id, new Message('a', 1));
    await first.waitForEvents(1);
    const gone = stopped(listener);
    first.close();
    await gone;
    expect(listener.isRunning()).toBe(false);

    await channel.dispatch(listener.id, new Message('b', 2));
    await channel.broadcast(new Message('c', 3));
    const second = await RawSseClient.open(url);
    const events = await second.waitForEvents(2);
    expect(events.map((e) => [e.event, e.data])).toEqual([
      ['b', '2'],
      ['c', '3'],
    ]);
    expect(listener.isRunning()).toBe(true);
    second.close();
  });

  it('ends the response when the listener is stopped server-side', async () => {
    const listener = await channel.addListener();
    const client = await RawSseClient.open(`${server.baseUrl}/events/news/${listener.id}`);
    await channel.dispatch(listener.id, new Message('a', 1));
    await client.waitForEvents(1);
    await channel.removeListener(listener.id);
    await client.ended;
    expect(client.events.map((e) => e.event)).toEqual(['a']);
    expect(server.streams.openStreams).toBe(0);
  });

  it('answers 404 JSON naming the error for an unknown channel or listener, never a stream', async () => {
    const listener = await channel.addListener();
    const unknownChannel = await fetch(`${server.baseUrl}/events/nope/${listener.id}`);
    expect(unknownChannel.status).toBe(404);
    expect(unknownChannel.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await unknownChannel.json()).toEqual({
      statusCode: 404,
      error: 'InvalidChannelException',
      message: 'No channel with id nope',
    });
    const unknownListener = await fetch(`${server.baseUrl}/events/news/ghost`);
    expect(unknownListener.status).toBe(404);
    expect(await unknownListener.json()).toEqual({
      statusCode: 404,
      error: 'InvalidListenerException',
      message: 'No listener with id ghost in channel news',
    });
    const unknownWatch = await fetch(`${server.baseUrl}/watch-events/nope`);
    expect(unknownWatch.status).toBe(404);
    expect(await unknownWatch.json()).toMatchObject({ error: 'InvalidChannelException' });
    expect(listener.isRunning()).toBe(false);
    expect(server.streams.openStreams).toBe(0);
  });

  it('watch: a fresh listener per connection, removed when the client leaves', async () => {
    const before = channel.getConnections().length;
    const client = await RawSseClient.open(`${server.baseUrl}/watch-events/news`);
    expect(client.status).toBe(200);
    await channel.broadcast(new Message('hello', 'all'));
    const [event] = await client.waitForEvents(1);
    expect(event).toMatchObject({ event: 'hello', data: 'all' });
    const [watcher] = channel.getConnections().slice(before);
    expect(watcher.listener.isRunning()).toBe(true);
    const gone = stopped(watcher.listener);
    client.close();
    await gone;
    expect(channel.hasListener(watcher.listener.id)).toBe(false);
    expect(channel.getConnections()).toHaveLength(before);
  });

  it('watch: the listener is removed too when the stream ends server-side', async () => {
    const client = await RawSseClient.open(`${server.baseUrl}/watch-events/news`);
    await channel.broadcast(new Message('hello', 'all'));
    await client.waitForEvents(1);
    const [watcher] = channel.getConnections();
    watcher.listener.stop();
    await client.ended;
    expect(channel.hasListener(watcher.listener.id)).toBe(false);
  });

  it('validates at once: events() throws NotFoundException before returning an Observable', () => {
    const streams = new EricSseStreams(container);
    expect(() => streams.events('nope', 'x')).toThrow(
      expect.objectContaining({ status: 404, response: expect.objectContaining({ error: 'InvalidChannelException' }) }),
    );
    expect(() => streams.events('news', 'x')).toThrow(
      expect.objectContaining({
        status: 404,
        response: expect.objectContaining({ error: 'InvalidListenerException' }),
      }),
    );
    expect(() => streams.watchEvents('nope')).toThrow(expect.objectContaining({ status: 404 }));
  });

  it('errors the Observable when the listener is removed between the call and the subscription', async () => {
    const streams = new EricSseStreams(container);
    const listener = await channel.addListener();
    const events = streams.events('news', listener.id);
    await channel.removeListener(listener.id);
    await expect(lastValueFrom(events)).rejects.toMatchObject({ status: 404 });
  });

  it('completes when the listener stops and stops it when unsubscribed', async () => {
    const streams = new EricSseStreams(container);
    const listener = await channel.addListener();
    await channel.dispatch(listener.id, new Message('a', 1));
    await channel.dispatch(listener.id, new Message('b', 2));
    await channel.dispatch(listener.id, new Message('c', 3));
    const firstThree = await lastValueFrom(streams.events('news', listener.id).pipe(take(3), toArray()));
    // First the resume point: only an id (Nest writes the `id:` line alone), then the messages.
    expect(firstThree[0]).toEqual({ id: '0' });
    expect(firstThree.slice(1).map((e) => e.type)).toEqual(['a', 'b']);
    expect(listener.isRunning()).toBe(false);
    expect(listener.isRunning()).toBe(false); // take(3) unsubscribed: 'c' stayed in the queue

    const received: string[] = [];
    const completed = new Promise<void>((resolve, reject) =>
      streams.events('news', listener.id).subscribe({
        next: (e) => {
          if (e.type === undefined) return; // the resume point
          received.push(e.type);
          if (received.length === 2) listener.stop();
        },
        complete: resolve,
        error: reject,
      }),
    );
    await channel.dispatch(listener.id, new Message('d', 4));
    await completed;
    expect(received).toEqual(['c', 'd']);
  });

  it('errors the Observable when the listener fails to handle a message', async () => {
    class Failing extends MessageQueueListener {
      override onMessage(_msg: MessageContract): void {
        throw new Error('handler broke');
      }
    }
    const streams = new EricSseStreams(container);
    const listener = new Failing();
    await channel.registerListener(listener);
    await channel.dispatch(listener.id, new Message('a'));
    await expect(lastValueFrom(streams.events('news', listener.id))).rejects.toThrow('handler broke');
    expect(streams.openStreams).toBe(0);
  });

  it('watch: errors when the listener cannot be added', async () => {
    const full = new SSEChannel({
      channelId: 'full',
      connectionsFactory: {
        create: () => {
          throw new Error('no room');
        },
      },
    });
    container.register(full);
    const streams = new EricSseStreams(container);
    await expect(lastValueFrom(streams.watchEvents('full'))).rejects.toThrow('no room');
  });

  it('watch: removes the listener added for a subscription that ended before it was added', async () => {
    const streams = new EricSseStreams(container);
    const added = new Promise<string>((resolve) => {
      const addListener = channel.addListener.bind(channel);
      channel.addListener = async () => {
        const listener = await addListener();
        setImmediate(() => resolve(listener.id)); // once the subscription has seen it
        return listener;
      };
    });
    streams.watchEvents('news').subscribe().unsubscribe();
    const id = await added;
    expect(channel.hasListener(id)).toBe(false);
    expect(streams.openStreams).toBe(0);
  });
});
