import { afterEach, expect, it } from '@jest/globals';
import {
  ChannelContainer,
  InvalidChannelException,
  Message,
  RedisSSEChannel,
  setEricLogger,
  type RedisBackend,
  type SSEEvent,
} from '../../src/index.js';
import { describeWithRedis } from './redis-server.js';
import { Backends, uniquePrefix, useRedisServer } from './support.js';

describeWithRedis('ChannelContainer over a RedisChannelRepository', () => {
  const redisServer = useRedisServer();
  const backends = new Backends();
  let a: RedisBackend;
  let b: RedisBackend;
  let onA: ChannelContainer;
  let onB: ChannelContainer;

  afterEach(async () => {
    await backends.closeAll();
  });

  async function twoProcesses(): Promise<void> {
    const prefix = uniquePrefix();
    a = await backends.connect(redisServer.url, prefix);
    b = await backends.connect(redisServer.url, prefix);
    onA = new ChannelContainer(a.channelRepository);
    onB = new ChannelContainer(b.channelRepository);
  }

  it('adds a channel every process resolves and lists', async () => {
    await twoProcesses();
    const channel = a.channelRepository.create({ channelId: 'news' });
    await onA.add(channel);
    expect(onA.get('news')).toBe(channel);
    expect(onB.has('news')).toBe(false);
    const resolved = await onB.resolve('news');
    expect(resolved).toBeInstanceOf(RedisSSEChannel);
    expect(onB.get('news')).toBe(resolved);
    expect(await Promise.all([onB.resolve('news'), onB.resolve('news')])).toEqual([resolved, resolved]);
    expect(await onB.listIds()).toEqual(['news']);
  });

  it('refuses a taken id, held here or stored by another process', async () => {
    await twoProcesses();
    await onA.add(a.channelRepository.create({ channelId: 'x' }));
    await expect(onA.add(a.channelRepository.create({ channelId: 'x' }))).rejects.toBeInstanceOf(
      InvalidChannelException,
    );
    await expect(onB.add(b.channelRepository.create({ channelId: 'x' }))).rejects.toThrow(/already exists/);
    expect(onB.has('x')).toBe(false);
  });

  it('ignores a malformed control message, with a logged error', async () => {
    await twoProcesses();
    const logged: string[] = [];
    setEricLogger({ debug: () => {}, error: (message) => logged.push(message) });
    try {
      await onA.add(a.channelRepository.create({ channelId: 'stays' }));
      await onB.resolve('stays');
      const heard = (backend: RedisBackend) =>
        new Promise<void>((resolve) => backend.subscriber.once('message', () => setImmediate(resolve)));
      const seen = Promise.all([heard(a), heard(b)]);
      await a.client.publish(a.keys.control, 'not json');
      await seen;
      // Each process hears it (both are subscribed): each logs it once and goes on.
      expect(logged).toEqual(Array(2).fill('Ignored a malformed eric-sse control message: not json'));
      expect(onB.has('stays')).toBe(true);
    } finally {
      setEricLogger();
    }
  });

  it('rejects unknown ids with InvalidChannelException', async () => {
    await twoProcesses();
    await expect(onA.resolve('nope')).rejects.toBeInstanceOf(InvalidChannelException);
    await expect(onA.remove('nope')).rejects.toBeInstanceOf(InvalidChannelException);
  });

  it('forgets, in every process, a channel one of them removed, and ends its streams there', async () => {
    await twoProcesses();
    const channel = a.channelRepository.create({ channelId: 'short-lived' });
    await onA.add(channel);
    const listener = await channel.addListener();
    const remote = await onB.resolve('short-lived');
    const { listener: streamed } = await remote.resolveConnection(listener.id);
    streamed.start();
    const stream = remote.messageStream(streamed) as AsyncGenerator<SSEEvent>;
    await channel.dispatch(listener.id, new Message('before'));
    expect((await stream.next()).value).toMatchObject({ event: 'before' });
    const rest = stream.next();
    await onA.remove('short-lived');
    expect(await rest).toEqual({ done: true, value: undefined });
    expect(onA.has('short-lived')).toBe(false);
    expect(onB.has('short-lived')).toBe(false);
    expect(await onB.listIds()).toEqual([]);
    await expect(onB.resolve('short-lived')).rejects.toBeInstanceOf(InvalidChannelException);
  });
});
