import { afterEach, expect, it } from '@jest/globals';
import { Message, type SSEEvent } from '../../src/index.js';
import { CommandMonitor } from './monitor.js';
import { describeWithRedis } from './redis-server.js';
import { Backends, uniquePrefix, useRedisServer } from './support.js';

describeWithRedis('idle streams on Redis', () => {
  const redisServer = useRedisServer();
  const backends = new Backends();

  afterEach(async () => {
    await backends.closeAll();
  });

  it('send no command while they wait, however long, and wake on the next message', async () => {
    const prefix = uniquePrefix();
    const a = await backends.connect(redisServer.url, prefix);
    const b = await backends.connect(redisServer.url, prefix);
    const channel = a.channelRepository.create({});
    await a.channelRepository.add(channel);
    const onB = await b.channelRepository.loadOne(channel.id);
    const listeners = await Promise.all(Array.from({ length: 20 }, () => onB.addListener()));
    const streams = listeners.map((listener) => {
      listener.start();
      return onB.messageStream(listener);
    });
    const firsts = streams.map((stream) => stream.next());
    const monitor = await CommandMonitor.start(redisServer.url);
    try {
      // Twenty streams waiting: their initial checks settle, then nothing at all goes to Redis.
      await new Promise((resolve) => setTimeout(resolve, 200));
      await monitor.settle();
      monitor.reset();
      await new Promise((resolve) => setTimeout(resolve, 1000)); // an observation window: the absence of commands
      await monitor.settle();
      expect(monitor.commands()).toEqual([]);
      await channel.broadcast(new Message('wake'));
      for (const first of await Promise.all(firsts)) expect((first.value as SSEEvent).event).toBe('wake');
    } finally {
      await monitor.stop();
      for (const listener of listeners) listener.stop();
      await Promise.all(streams.map((stream) => stream.return(undefined)));
    }
  });
});
