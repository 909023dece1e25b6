import { afterEach, expect, it } from '@jest/globals';
import {
  InvalidConfigurationException,
  DataProcessingChannel,
  Message,
  MessageQueueListener,
  NoMessagesException,
  RedisConnectionsFactory,
  RedisQueue,
  RepositoryError,
  SignedMessage,
  setEricLogger,
  UniqueMessage,
  type RedisBackend,
} from '../../src/index.js';
import { CommandMonitor } from './monitor.js';
import { describeWithRedis } from './redis-server.js';
import { Backends, uniquePrefix, until, useRedisServer } from './support.js';

/** Resolves when `queue.onReady` calls back. */
function ready(queue: RedisQueue): Promise<void> {
  return new Promise((resolve) => queue.onReady(resolve));
}

/**
 * The commands but the `UNLINK` of a take's ledger, which follows each take that took something once its
 * reply is here (fire and forget: it may reach the monitor after the test looked).
 */
function withoutLedgerRemoval(commands: string[]): string[] {
  return commands.filter((command) => command !== 'unlink');
}

describeWithRedis('RedisQueue', () => {
  const redisServer = useRedisServer();
  const backends = new Backends();
  let a: RedisBackend;
  let b: RedisBackend;

  afterEach(async () => {
    setEricLogger();
    await backends.closeAll();
  });

  async function twoProcesses(): Promise<void> {
    const prefix = uniquePrefix();
    a = await backends.connect(redisServer.url, prefix);
    b = await backends.connect(redisServer.url, prefix);
  }

  it('is FIFO and rejects pop on an empty queue with NoMessagesException', async () => {
    await twoProcesses();
    const queue = new RedisQueue(a, 'c', 'l');
    await expect(queue.pop()).rejects.toBeInstanceOf(NoMessagesException);
    await queue.push(new Message('one'));
    await queue.push(new Message('two', [2]));
    expect(await queue.length()).toBe(2);
    expect(await queue.peekAll()).toEqual([new Message('one'), new Message('two', [2])]);
    expect(await queue.pop()).toEqual(new Message('one'));
    expect(await queue.pop()).toEqual(new Message('two', [2]));
    await expect(queue.pop()).rejects.toBeInstanceOf(NoMessagesException);
  });

  it('keeps message classes, senders and ids', async () => {
    await twoProcesses();
    const queue = new RedisQueue(a, 'c', 'l');
    const signed = new SignedMessage('alice', 'hello', { text: 'hi' });
    const unique = new UniqueMessage(new Message('note', 'n'), 'bob', 'id-1');
    await queue.push(signed);
    await queue.push(unique);
    const first = await queue.pop();
    const second = await queue.pop();
    expect(first).toBeInstanceOf(SignedMessage);
    expect(first).toEqual(signed);
    expect(second).toBeInstanceOf(UniqueMessage);
    expect(second).toEqual(unique);
  });

  it('is one list for every process: what one pushes, another pops', async () => {
    await twoProcesses();
    await new RedisQueue(a, 'c', 'l').push(new Message('x'));
    expect(await new RedisQueue(b, 'c', 'l').pop()).toEqual(new Message('x'));
    expect(await new RedisQueue(a, 'c', 'other').length()).toBe(0);
    expect(await new RedisQueue(a, 'c:other', 'l').length()).toBe(0);
  });

  it('onReady calls back once a message is waiting already', async () => {
    await twoProcesses();
    const queue = new RedisQueue(a, 'c', 'l');
    await queue.push(new Message('waiting'));
    await ready(queue);
    expect(await queue.pop()).toEqual(new Message('waiting'));
  });

  it('onReady calls back when another process pushes, also after an empty pop', async () => {
    await twoProcesses();
    const queue = new RedisQueue(a, 'c', 'l');
    const other = new RedisQueue(b, 'c', 'l');
    const first = ready(queue);
    await other.push(new Message('one'));
    await first;
    expect(await queue.pop()).toEqual(new Message('one'));
    await expect(queue.pop()).rejects.toBeInstanceOf(NoMessagesException);
    const second = ready(queue);
    await other.push(new Message('two'));
    await second;
    expect(await queue.pop()).toEqual(new Message('two'));
  });

  it('calls back every waiting callback once, and not a cancelled one', async () => {
    await twoProcesses();
    const queue = new RedisQueue(a, 'c', 'l');
    await expect(queue.pop()).rejects.toBeInstanceOf(NoMessagesException);
    const calls: string[] = [];
    queue.onReady(() => calls.push('first'));
    queue.onReady(() => calls.push('second'));
    const cancel = queue.onReady(() => calls.push('cancelled'));
    cancel();
    const last = ready(queue);
    await new RedisQueue(b, 'c', 'l').push(new Message('go'));
    await last;
    expect(calls).toEqual(['first', 'second']);
    await new RedisQueue(b, 'c', 'l').push(new Message('again'));
    await ready(queue);
    expect(calls).toEqual(['first', 'second']);
  });

  it('gives each message to one popper only, across processes', async () => {
    await twoProcesses();
    const pusher = new RedisQueue(a, 'c', 'l');
    const sent = Array.from({ length: 300 }, (_, i) => i);
    await Promise.all(sent.map((i) => pusher.push(new Message('m', i))));
    const drain = async (queue: RedisQueue): Promise<number[]> => {
      const got: number[] = [];
      for (;;) {
        try {
          got.push((await queue.pop()).payload as number);
        } catch (error) {
          if (error instanceof NoMessagesException) return got;
          throw error;
        }
      }
    };
    const poppers = [a, a, b, b].map((backend) => new RedisQueue(backend, 'c', 'l'));
    const results = await Promise.all(poppers.map(drain));
    const all = results.flat().sort((x, y) => x - y);
    expect(all).toEqual(sent);
    for (const got of results) expect(got).toEqual([...got].sort((x, y) => x - y)); // each in order
  });

  it('drops a stored message it cannot decode with a RepositoryError, and goes on with the next', async () => {
    await twoProcesses();
    const logged: string[] = [];
    setEricLogger({ debug: () => {}, error: (message) => logged.push(message) });
    const queue = new RedisQueue(a, 'c', 'l');
    await a.client.rpush(queue.key, '{"kind":"nonsense"}');
    await queue.push(new Message('fine'));
    await expect(queue.pop()).rejects.toThrow(RepositoryError);
    expect(await queue.pop()).toEqual(new Message('fine'));
    expect(logged).toEqual([expect.stringMatching(/decode a message of listener l \(dropped\)/)]);
  });

  it('rejects push with RepositoryError and pop with NoMessagesException when Redis is unreachable', async () => {
    await twoProcesses();
    const queue = new RedisQueue(a, 'c', 'l');
    await a.close();
    await expect(queue.push(new Message('x'))).rejects.toThrow(RepositoryError);
    await expect(queue.pop()).rejects.toThrow(NoMessagesException);
    await expect(queue.length()).rejects.toThrow(RepositoryError);
  });

  it('serves every stream a broadcast woke with one script, each message read once', async () => {
    await twoProcesses();
    const channel = a.channelRepository.create({});
    await a.channelRepository.add(channel);
    const onB = await b.channelRepository.loadOne(channel.id);
    const queues = await Promise.all(
      Array.from({ length: 30 }, async () => (await onB.resolveConnection((await onB.addListener()).id)).queue),
    );
    // Each waits (an initial take finds its list empty), then one broadcast wakes them all.
    await Promise.all(queues.map((queue) => queue.pop().catch(() => undefined)));
    const woken = Promise.all(queues.map((queue) => new Promise<void>((resolve) => queue.onReady(resolve))));
    const monitor = await CommandMonitor.start(redisServer.url);
    try {
      await monitor.settle();
      monitor.reset();
      await channel.broadcast(new Message('all'));
      await woken;
      expect(queues.map((queue) => (queue as RedisQueue).popNow())).toEqual(queues.map(() => new Message('all')));
      await monitor.settle();
      // The broadcast, then one take for all 30 (a script's first run on a connection is an EVAL).
      expect(withoutLedgerRemoval(monitor.commands())).toEqual([
        expect.stringMatching(/^eval(sha)?$/),
        expect.stringMatching(/^eval(sha)?$/),
      ]);
    } finally {
      await monitor.stop();
    }
  });

  it('serves the streams waiting in the broadcasting process within the broadcast: one command in all', async () => {
    await twoProcesses();
    const channel = a.channelRepository.create({});
    await a.channelRepository.add(channel);
    const waitingIds = [(await channel.addListener()).id, (await channel.addListener()).id];
    const idle = await channel.addListener(); // nobody streams it: its copy is queued in Redis
    const queues = waitingIds.map((id) => channel.getConnection(id).queue as RedisQueue);
    await Promise.all(queues.map((queue) => queue.pop().catch(() => undefined)));
    await channel.broadcast(new Message('warm-up')); // first runs send the scripts themselves
    await Promise.all(queues.map((queue) => queue.pop()));
    await channel.getConnection(idle.id).queue.pop();
    const woken = Promise.all(queues.map((queue) => new Promise<void>((resolve) => queue.onReady(resolve))));
    const monitor = await CommandMonitor.start(redisServer.url);
    try {
      await monitor.settle();
      monitor.reset();
      expect(await channel.broadcastAndCount(new Message('now'))).toBe(3);
      await woken;
      expect(queues.map((queue) => queue.popNow())).toEqual([new Message('now'), new Message('now')]);
      await monitor.settle();
      expect(withoutLedgerRemoval(monitor.commands())).toEqual(['evalsha']);
      // The waiting listeners' lists were empty: the message went to their streams without a push and a pop.
      expect(monitor.scriptCalls().filter((name) => name === 'rpush')).toHaveLength(1);
      expect(await channel.getConnection(idle.id).queue.pop()).toEqual(new Message('now'));
    } finally {
      await monitor.stop();
    }
  });

  it("keeps a listener's order when its list holds a message this process has not heard of yet", async () => {
    await twoProcesses();
    const channel = a.channelRepository.create({});
    await a.channelRepository.add(channel);
    const listener = await channel.addListener();
    const queue = channel.getConnection(listener.id).queue as RedisQueue;
    await queue.pop().catch(() => undefined); // registers the queue: the channel's wake subscription is taken
    await until(() => a.hub.isListening(channel.id), 'the wake subscription');
    await queue.pop().catch(() => undefined);
    const woken = new Promise<void>((resolve) => queue.onReady(resolve));
    // Queued behind this process's back (no wake message): it is older than the broadcast below.
    await b.client.rpush(queue.key, JSON.stringify({ kind: 'message', type: 'older' }));
    await channel.broadcast(new Message('newer'));
    await woken;
    expect([queue.popNow(), queue.popNow()]).toEqual([new Message('older'), new Message('newer')]);
  });

  it('serves a stream waiting in the dispatching process within the dispatch', async () => {
    await twoProcesses();
    const channel = a.channelRepository.create({});
    await a.channelRepository.add(channel);
    const listener = await channel.addListener();
    const queue = channel.getConnection(listener.id).queue as RedisQueue;
    await channel.dispatch(listener.id, new Message('warm-up'));
    await queue.pop();
    await queue.pop().catch(() => undefined);
    const woken = new Promise<void>((resolve) => queue.onReady(resolve));
    const monitor = await CommandMonitor.start(redisServer.url);
    try {
      await monitor.settle();
      monitor.reset();
      await channel.dispatch(listener.id, new Message('direct'));
      await woken;
      expect(queue.popNow()).toEqual(new Message('direct'));
      await monitor.settle();
      expect(withoutLedgerRemoval(monitor.commands())).toEqual(['evalsha']);
      expect(await queue.length()).toBe(0);
    } finally {
      await monitor.stop();
    }
  });

  it('shares one decoded message among the copies of a broadcast this process reads', async () => {
    await twoProcesses();
    const channel = a.channelRepository.create({});
    await a.channelRepository.add(channel);
    const [one, two] = [await channel.addListener(), await channel.addListener()];
    await channel.broadcast(new Message('shared', { big: 'payload' }));
    const first = await channel.getConnection(one.id).queue.pop();
    const second = await channel.getConnection(two.id).queue.pop();
    expect(first).toBe(second);
  });

  it('puts what a woken stream did not read in that turn back at the head of the list, in order', async () => {
    await twoProcesses();
    const queue = new RedisQueue(a, 'c', 'l');
    await queue.push(new Message('one'));
    await queue.push(new Message('two'));
    await ready(queue); // woken, holding both, but reads only one in this turn
    expect(queue.popNow()).toEqual(new Message('one'));
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(queue.popNow()).toBeUndefined();
    expect(await queue.peekAll()).toEqual([new Message('two')]);
    await new RedisQueue(b, 'c', 'l').push(new Message('three'));
    expect(await new RedisQueue(b, 'c', 'l').peekAll()).toEqual([new Message('two'), new Message('three')]);
  });

  it('drops, rather than gives back, what it held for a listener removed meanwhile', async () => {
    await twoProcesses();
    const channel = a.channelRepository.create({});
    await a.channelRepository.add(channel);
    const listener = await channel.addListener();
    await channel.dispatch(listener.id, new Message('held'));
    const queue = channel.getConnection(listener.id).queue as RedisQueue;
    await ready(queue);
    await (await b.channelRepository.loadOne(channel.id)).removeListener(listener.id);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(await a.client.exists(queue.key)).toBe(0);
  });

  it('lets deliverNext and processQueue take messages that are in Redis only', async () => {
    await twoProcesses();
    const channel = a.channelRepository.create({});
    await a.channelRepository.add(channel);
    const listener = await channel.addListener();
    await channel.dispatch(listener.id, new Message('first'));
    listener.start();
    expect(await channel.deliverNext(listener.id)).toEqual(new Message('first'));
    await expect(channel.deliverNext(listener.id)).rejects.toBeInstanceOf(NoMessagesException);
    const processing = new DataProcessingChannel({ maxWorkers: 2 });
    const connection = a.connectionsFactory.create(undefined, 'processing');
    await processing.registerConnection(connection);
    for (let i = 0; i < 3; i++) await connection.queue.push(new Message('job', i));
    const results: unknown[] = [];
    for await (const event of processing.processQueue(connection.listener)) results.push(event.data);
    expect(results.sort()).toEqual([0, 1, 2]);
  });

  it('is made by RedisConnectionsFactory for a channel and listener', async () => {
    await twoProcesses();
    const factory = new RedisConnectionsFactory(a);
    const listener = new MessageQueueListener('l1');
    const connection = factory.create(listener, 'chan');
    expect(connection.listener).toBe(listener);
    expect(connection.queue).toBeInstanceOf(RedisQueue);
    expect((connection.queue as RedisQueue).key).toBe(a.keys.queue('chan', 'l1'));
    expect(factory.create(undefined, 'chan').listener).toBeInstanceOf(MessageQueueListener);
    expect(() => factory.create(listener)).toThrow(InvalidConfigurationException);
  });
});
