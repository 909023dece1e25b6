import { afterAll, afterEach, beforeAll, expect, it } from '@jest/globals';
import { once } from 'node:events';
import { Message, RepositoryError, setEricLogger, type RedisBackend, type SSEEvent } from '../../src/index.js';
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
});
