import { afterAll, afterEach, beforeAll, expect, it } from '@jest/globals';
import { once } from 'node:events';
import {
  EricSseModule,
  Message,
  RepositoryError,
  setEricLogger,
  type RedisBackend,
  type SSEEvent,
} from '../../src/index.js';
import request from 'supertest';
import { createApp } from '../nest/support.js';
import { RedisServer, describeWithRedis } from './redis-server.js';
import { Backends, uniquePrefix } from './support.js';

describeWithRedis('Redis outage', () => {
  let server: RedisServer;
  const backends = new Backends();
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

  beforeAll(async () => {
    // Append-only with fsync on every write: what Redis acknowledged survives its being killed.
    server = await RedisServer.start({ durable: true });
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await server.dispose();
  });
  afterEach(async () => {
    setEricLogger();
    await backends.closeAll();
  });

  it('fails writes with RepositoryError, pauses streams, and resumes them with nothing lost when Redis is back', async () => {
    const logged: string[] = [];
    setEricLogger({ debug: (message) => logged.push(message), error: (message) => logged.push(message) });
    const prefix = uniquePrefix();
    const a: RedisBackend = await backends.connect(server.url, prefix);
    const b: RedisBackend = await backends.connect(server.url, prefix);
    const channel = a.channelRepository.create({ channelId: 'outage' });
    await a.channelRepository.add(channel);
    const streamedId = (await channel.addListener()).id;
    const idleId = (await channel.addListener()).id;
    const onB = await b.channelRepository.loadOne('outage');
    const { listener } = await onB.resolveConnection(streamedId);
    listener.start();
    const stream = onB.messageStream(listener);
    const next = async (): Promise<unknown> => ((await stream.next()).value as SSEEvent).data;

    await channel.dispatch(streamedId, new Message('m', 1));
    expect(await next()).toBe(1);
    await channel.dispatch(idleId, new Message('kept', 'for later'));
    const waiting = next(); // the stream waits, idle, when Redis goes away

    const aLost = once(a.client, 'close');
    const bLost = once(b.subscriber, 'close');
    await server.stop('SIGKILL');
    await Promise.all([aLost, bLost]);
    await expect(channel.dispatch(streamedId, new Message('m', 'lost'))).rejects.toThrow(RepositoryError);
    await expect(channel.broadcast(new Message('m', 'lost'))).rejects.toThrow(/Redis is unavailable/);

    const aBack = once(a.client, 'ready');
    const bBack = once(b.subscriber, 'ready');
    await server.restart();
    await Promise.all([aBack, bBack]);
    await channel.dispatch(streamedId, new Message('m', 2));
    expect(await waiting).toBe(2);
    await channel.broadcast(new Message('m', 3));
    expect(await next()).toBe(3);
    const idleQueue = (await onB.resolveConnection(idleId)).queue;
    expect(await idleQueue.pop()).toEqual(new Message('kept', 'for later'));
    expect(await idleQueue.pop()).toEqual(new Message('m', 3));

    listener.stop();
    await stream.return(undefined);
    expect(unhandled).toEqual([]);
    expect(logged.some((line) => /Redis commands connection (lost|closed)/.test(line))).toBe(true);
    expect(logged.some((line) => /Redis commands connection is back/.test(line))).toBe(true);
  });

  it('answers every call within the command timeout while Redis is frozen, and streams resume once it thaws', async () => {
    setEricLogger({ debug: () => undefined, error: () => undefined });
    const prefix = uniquePrefix();
    const a: RedisBackend = await backends.connect(server.url, prefix);
    const b: RedisBackend = await backends.connect(server.url, prefix);
    const channel = a.channelRepository.create({ channelId: 'frozen' });
    await a.channelRepository.add(channel);
    const streamedId = (await channel.addListener()).id;
    const onB = await b.channelRepository.loadOne('frozen');
    const { listener } = await onB.resolveConnection(streamedId);
    listener.start();
    const stream = onB.messageStream(listener);
    await channel.dispatch(streamedId, new Message('m', 1));
    expect(((await stream.next()).value as SSEEvent).data).toBe(1);
    const waiting = stream.next(); // idle when Redis freezes

    server.signal('SIGSTOP');
    try {
      const started = Date.now();
      const calls = [
        channel.broadcast(new Message('m', 'unknown')),
        channel.dispatch(streamedId, new Message('m', 'unknown')),
        channel.listListenerIds(),
      ];
      for (const call of calls) {
        await expect(call).rejects.toThrow(RepositoryError);
      }
      await expect(calls[0]).rejects.toThrow(/outcome is unknown/);
      // The default command timeout is 2 s: every call is answered by then (with slack for a busy machine).
      expect(Date.now() - started).toBeLessThan(4000);
    } finally {
      server.signal('SIGCONT');
    }
    // Thawed: what the frozen calls did is applied or not (unknown), and new messages flow to the waiting stream.
    await channel.dispatch(streamedId, new Message('m', 2));
    const delivered: unknown[] = [((await waiting).value as SSEEvent).data];
    while (delivered[delivered.length - 1] !== 2) delivered.push(((await stream.next()).value as SSEEvent).data);
    expect(delivered.filter((data) => data !== 'unknown')).toEqual([2]);
    listener.stop();
    await stream.return(undefined);
    expect(unhandled).toEqual([]);
  }, 30_000);

  it('gives back what a take whose reply was lost took, before the stream takes anything newer', async () => {
    setEricLogger({ debug: () => undefined, error: () => undefined });
    const prefix = uniquePrefix();
    const fast = { redis: { host: '127.0.0.1', port: server.port, commandTimeout: 300 } };
    const a: RedisBackend = await backends.connect(server.url, prefix, fast);
    const channel = a.channelRepository.create({ channelId: 'lost-reply' });
    await a.channelRepository.add(channel);
    const listener = await channel.addListener();
    await channel.dispatch(listener.id, new Message('m', 1));
    await channel.dispatch(listener.id, new Message('m', 2));

    server.signal('SIGSTOP');
    let stream: AsyncGenerator<unknown, void, undefined>;
    let first: Promise<IteratorResult<unknown, void>>;
    try {
      listener.start();
      stream = channel.messageStream(listener);
      first = stream.next(); // the take is sent to the frozen Redis, and times out
      // Once it has timed out (its outcome unknown), Redis thaws and runs it: its reply goes nowhere.
      await new Promise((resolve) => setTimeout(resolve, 600));
    } finally {
      server.signal('SIGCONT');
    }
    await channel.dispatch(listener.id, new Message('m', 3));
    const received = [((await first).value as SSEEvent).data];
    while (received.length < 3) received.push(((await stream.next()).value as SSEEvent).data);
    expect(received).toEqual([1, 2, 3]);
    expect(await a.client.keys(`${prefix}taking:*`)).toEqual([]);
    listener.stop();
    await stream.return(undefined);
  }, 30_000);

  it('answers every REST call within the command timeout while Redis is frozen: 503, outcome unknown', async () => {
    const app = await createApp({
      imports: [
        EricSseModule.forRoot({
          redis: { host: '127.0.0.1', port: server.port, commandTimeout: 400 },
          keyPrefix: uniquePrefix(),
          rest: {},
        }),
      ],
    });
    try {
      const created = await request(app.getHttpServer()).post('/eric-sse/channels').send({ id: 'cold' }).expect(201);
      expect(created.body).toEqual({ id: 'cold' });
      server.signal('SIGSTOP');
      try {
        const calls = [
          request(app.getHttpServer()).post('/eric-sse/channels/cold/broadcast').send({ type: 'm', payload: 1 }),
          request(app.getHttpServer()).post('/eric-sse/channels/cold/listeners'),
          request(app.getHttpServer()).get('/eric-sse/channels/elsewhere/listeners'),
          request(app.getHttpServer()).get('/eric-sse/channels'),
        ];
        const started = Date.now();
        for (const answer of await Promise.all(calls)) {
          expect(answer.status).toBe(503);
          expect(answer.body).toMatchObject({ error: 'RepositoryError', message: expect.stringMatching(/unknown/) });
        }
        // Each call within its deadline (the command timeout), whatever number of commands it makes.
        expect(Date.now() - started).toBeLessThan(1500);
      } finally {
        server.signal('SIGCONT');
      }
    } finally {
      await app.close();
    }
  }, 30_000);
});
