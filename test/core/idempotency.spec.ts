import { describe, expect, it } from '@jest/globals';
import { IdempotencyKeys } from '../../src/core/idempotency.js';
import {
  Connection,
  DEFAULT_IDEMPOTENCY_WINDOW_MILLISECONDS,
  DEFAULT_MAX_IDEMPOTENCY_KEYS,
  InMemoryConnectionsFactory,
  InMemoryQueue,
  InvalidConfigurationException,
  InvalidListenerException,
  InvalidMessageFormat,
  Message,
  MessageQueueListener,
  MessageTooLargeException,
  QueueFullException,
  RepositoryError,
  UniqueMessage,
  assertIdempotencyKey,
  type ChannelOptions,
  type MessageContract,
  type PublishOptions,
} from '../../src/index.js';
import { TextChannel, deferred, nextTurn } from './support.js';

function queued(channel: TextChannel, listenerId: string): MessageContract[] {
  return (channel.getConnection(listenerId).queue as InMemoryQueue).peekAll();
}

async function channelWith(listenerIds: string[], options: ChannelOptions = {}): Promise<TextChannel> {
  const channel = new TextChannel(options);
  for (const id of listenerIds) await channel.registerListener(new MessageQueueListener(id));
  return channel;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A queue whose pushes settle when the test says so, as a remote store's do. */
class PendingPushQueue extends InMemoryQueue {
  readonly pending: ReturnType<typeof deferred<void>>[] = [];

  override push(msg: MessageContract): Promise<void> {
    const push = deferred<void>();
    this.pending.push(push);
    return push.promise.then(() => super.push(msg));
  }
}

describe('idempotent publishing in memory', () => {
  it('queues a retried dispatch once and answers it as the first, telling onReplay', async () => {
    const channel = await channelWith(['alice']);
    const replays: string[] = [];
    const options: PublishOptions = { idempotencyKey: 'order-1', onReplay: () => replays.push('order-1') };
    await expect(channel.dispatch('alice', new Message('paid', 1), options)).resolves.toBeUndefined();
    await expect(channel.dispatch('alice', new Message('paid', 1), options)).resolves.toBeUndefined();
    expect(queued(channel, 'alice')).toEqual([new Message('paid', 1)]);
    expect(replays).toEqual(['order-1']);
  });

  it("answers a retried broadcastAndCount with the first call's count, queueing nothing for anyone", async () => {
    const channel = await channelWith(['alice', 'bob']);
    expect(await channel.broadcastAndCount(new Message('news'), { idempotencyKey: 'k' })).toBe(2);
    await channel.registerListener(new MessageQueueListener('carol'));
    expect(await channel.broadcastAndCount(new Message('news'), { idempotencyKey: 'k' })).toBe(2);
    await channel.broadcast(new Message('news'), { idempotencyKey: 'k' });
    expect(queued(channel, 'alice')).toEqual([new Message('news')]);
    expect(queued(channel, 'bob')).toEqual([new Message('news')]);
    expect(queued(channel, 'carol')).toEqual([]);
  });

  it('keys name one publish per channel: a broadcast key repeated on a dispatch is a replay', async () => {
    const channel = await channelWith(['alice']);
    await channel.broadcast(new Message('a'), { idempotencyKey: 'same' });
    await channel.dispatch('alice', new Message('b'), { idempotencyKey: 'same' });
    expect(queued(channel, 'alice')).toEqual([new Message('a')]);
    const other = await channelWith(['alice']);
    await other.dispatch('alice', new Message('b'), { idempotencyKey: 'same' });
    expect(queued(other, 'alice')).toEqual([new Message('b')]);
  });

  it('delivers calls with different keys, and calls without one, every time', async () => {
    const channel = await channelWith(['alice']);
    expect(await channel.broadcastAndCount(new Message('x'), { idempotencyKey: 'k1' })).toBe(1);
    expect(await channel.broadcastAndCount(new Message('x'), { idempotencyKey: 'k2' })).toBe(1);
    await channel.dispatch('alice', new Message('x'), {});
    await channel.dispatch('alice', new Message('x'));
    expect(queued(channel, 'alice')).toHaveLength(4);
  });

  it('publishes again once the window has passed', async () => {
    const channel = await channelWith(['alice'], { idempotency: { windowMilliseconds: 30 } });
    await channel.dispatch('alice', new Message('x'), { idempotencyKey: 'k' });
    await channel.dispatch('alice', new Message('x'), { idempotencyKey: 'k' });
    expect(queued(channel, 'alice')).toHaveLength(1);
    await sleep(60);
    await channel.dispatch('alice', new Message('x'), { idempotencyKey: 'k' });
    expect(queued(channel, 'alice')).toHaveLength(2);
  });

  it('forgets the oldest key past maxKeys', async () => {
    const channel = await channelWith(['alice'], { idempotency: { maxKeys: 2 } });
    for (const key of ['a', 'b', 'c']) await channel.dispatch('alice', new Message(key), { idempotencyKey: key });
    await channel.dispatch('alice', new Message('c'), { idempotencyKey: 'c' });
    await channel.dispatch('alice', new Message('a'), { idempotencyKey: 'a' });
    expect(queued(channel, 'alice').map((m) => m.type)).toEqual(['a', 'b', 'c', 'a']);
  });

  it('does not record the key of a dispatch a full queue refused: the retry publishes', async () => {
    const channel = await channelWith(['alice'], {
      connectionsFactory: new InMemoryConnectionsFactory({ maxSize: 1, overflow: 'reject' }),
    });
    await channel.dispatch('alice', new Message('first'));
    await expect(channel.dispatch('alice', new Message('second'), { idempotencyKey: 'k' })).rejects.toThrow(
      QueueFullException,
    );
    await channel.getConnection('alice').queue.pop();
    const replays: string[] = [];
    await channel.dispatch('alice', new Message('second'), { idempotencyKey: 'k', onReplay: () => replays.push('k') });
    expect(queued(channel, 'alice')).toEqual([new Message('second')]);
    expect(replays).toEqual([]);
  });

  it('does not record the key of a broadcast a full queue refused: the retry publishes', async () => {
    const channel = await channelWith(['alice', 'bob'], {
      connectionsFactory: new InMemoryConnectionsFactory({ maxSize: 1, overflow: 'reject' }),
    });
    await channel.dispatch('bob', new Message('first'));
    await expect(channel.broadcastAndCount(new Message('all'), { idempotencyKey: 'k' })).rejects.toThrow(
      QueueFullException,
    );
    expect(queued(channel, 'alice')).toEqual([]);
    await channel.getConnection('bob').queue.pop();
    expect(await channel.broadcastAndCount(new Message('all'), { idempotencyKey: 'k' })).toBe(2);
    expect(queued(channel, 'alice')).toEqual([new Message('all')]);
    expect(queued(channel, 'bob')).toEqual([new Message('all')]);
  });

  it('does not record the key of a payload too large, nor of a dispatch to an unknown listener', async () => {
    const channel = await channelWith(['alice'], { maxPayloadBytes: 10 });
    const big = new Message('big', 'x'.repeat(20));
    await expect(channel.broadcast(big, { idempotencyKey: 'k1' })).rejects.toThrow(MessageTooLargeException);
    await expect(channel.dispatch('alice', big, { idempotencyKey: 'k2' })).rejects.toThrow(MessageTooLargeException);
    await expect(channel.dispatch('bob', new Message('x'), { idempotencyKey: 'k3' })).rejects.toThrow(
      InvalidListenerException,
    );
    await channel.registerListener(new MessageQueueListener('bob'));
    await channel.broadcast(new Message('small'), { idempotencyKey: 'k1' });
    await channel.dispatch('alice', new Message('small'), { idempotencyKey: 'k2' });
    await channel.dispatch('bob', new Message('x'), { idempotencyKey: 'k3' });
    expect(queued(channel, 'alice')).toEqual([new Message('small'), new Message('small')]);
    expect(queued(channel, 'bob')).toEqual([new Message('small'), new Message('x')]);
  });

  it('gives a repeat made while the first call is in flight that call outcome; a failure forgets the key', async () => {
    const queue = new PendingPushQueue();
    const channel = new TextChannel({ connectionsFactory: { create: (l) => new Connection(l!, queue) } });
    await channel.registerListener(new MessageQueueListener('alice'));
    const first = channel.dispatch('alice', new Message('x'), { idempotencyKey: 'k' });
    const repeat = channel.dispatch('alice', new Message('x'), { idempotencyKey: 'k' });
    expect(queue.pending).toHaveLength(1);
    queue.pending[0].reject(new RepositoryError('store down'));
    await expect(first).rejects.toThrow(RepositoryError);
    await expect(repeat).rejects.toThrow(RepositoryError);
    await nextTurn();
    const retry = channel.dispatch('alice', new Message('x'), { idempotencyKey: 'k' });
    expect(queue.pending).toHaveLength(2);
    queue.pending[1].resolve();
    await retry;
    expect(queue.peekAll()).toEqual([new Message('x')]);
  });

  it("does not take a UniqueMessage's id as its key: that would drop a message sent on to a second listener", async () => {
    const channel = await channelWith(['alice', 'bob']);
    const unique = new UniqueMessage(new Message('note', 1), 'carol', 'msg-1');
    await channel.dispatch('alice', unique);
    await channel.dispatch('bob', unique);
    await channel.broadcast(unique);
    expect(queued(channel, 'alice')).toEqual([unique, unique]);
    expect(queued(channel, 'bob')).toEqual([unique, unique]);
    await channel.broadcast(unique, { idempotencyKey: unique.id });
    await channel.broadcast(unique, { idempotencyKey: unique.id });
    expect(queued(channel, 'alice')).toHaveLength(3);
  });

  describe('keys', () => {
    const LONG = 'x'.repeat(10_000);

    it.each<[string, unknown, string]>([
      ['a number', 42, 'An idempotency key must be a string, got a number'],
      ['null', null, 'An idempotency key must be a string, got null'],
      ['an object', { id: 1 }, 'An idempotency key must be a string, got an object'],
      ['an empty string', '', 'An idempotency key must not be empty'],
      ['257 ASCII bytes', 'k'.repeat(257), 'must be at most 256 bytes (UTF-8), got "kkkk'],
      ['258 UTF-8 bytes in 129 characters', 'é'.repeat(129), 'must be at most 256 bytes (UTF-8), got "éééé'],
      ['a line break', 'a\nb', 'must not hold control characters or lone surrogates, got "a\\nb"'],
      ['a NUL', 'a\u0000b', 'must not hold control characters'],
      ['a tab', 'a\tb', 'must not hold control characters'],
      ['DEL', 'a\u007f', 'must not hold control characters'],
      ['a C1 control', 'a\u0085', 'must not hold control characters'],
      ['a lone surrogate', 'a\ud800', 'lone surrogates'],
    ])('refuses %s with InvalidMessageFormat, queueing nothing', async (_case, key, message) => {
      const channel = await channelWith(['alice']);
      const options = { idempotencyKey: key } as PublishOptions;
      for (const call of [
        () => channel.dispatch('alice', new Message('x'), options),
        () => channel.broadcast(new Message('x'), options),
        () => channel.broadcastAndCount(new Message('x'), options),
      ]) {
        const result = call(); // never throws: rejects
        await expect(result).rejects.toThrow(InvalidMessageFormat);
        await expect(result).rejects.toThrow(message);
      }
      expect(queued(channel, 'alice')).toEqual([]);
    });

    it('quotes only a short prefix of a long key', () => {
      let error: Error | undefined;
      try {
        assertIdempotencyKey(LONG);
      } catch (caught) {
        error = caught as Error;
      }
      expect(error).toBeInstanceOf(InvalidMessageFormat);
      expect(error?.message).toBe(
        `An idempotency key must be at most 256 bytes (UTF-8), got "${'x'.repeat(32)}"... (10000 characters)`,
      );
    });

    it('takes keys of exactly 256 bytes, any printable Unicode, and pairs of surrogates', async () => {
      const channel = await channelWith(['alice']);
      for (const key of ['k'.repeat(256), 'é'.repeat(128), 'ordre n° 5 / 注文 🧾', ' spaced key ']) {
        expect(assertIdempotencyKey(key)).toBe(key);
        await channel.dispatch('alice', new Message('x'), { idempotencyKey: key });
        await channel.dispatch('alice', new Message('x'), { idempotencyKey: key });
      }
      expect(queued(channel, 'alice')).toHaveLength(4);
    });

    it('refuses options that are not an object', async () => {
      const channel = await channelWith(['alice']);
      await expect(channel.dispatch('alice', new Message('x'), 'k' as never)).rejects.toThrow(
        'Publish options must be an object { idempotencyKey? }, got a string',
      );
      expect(queued(channel, 'alice')).toEqual([]);
    });
  });

  describe('options', () => {
    it('defaults to a 5-minute window and 100,000 keys per channel', () => {
      expect(new TextChannel().idempotency).toEqual({ windowMilliseconds: 300_000, maxKeys: 100_000 });
      expect(DEFAULT_IDEMPOTENCY_WINDOW_MILLISECONDS).toBe(300_000);
      expect(DEFAULT_MAX_IDEMPOTENCY_KEYS).toBe(100_000);
    });

    it.each<[string, unknown, string]>([
      ['a zero window', { windowMilliseconds: 0 }, 'idempotency.windowMilliseconds must be an integer >= 1, got 0'],
      ['a fractional window', { windowMilliseconds: 1.5 }, 'idempotency.windowMilliseconds must be an integer >= 1'],
      ['a zero maxKeys', { maxKeys: 0 }, 'idempotency.maxKeys must be an integer >= 1, got 0'],
      ['a string maxKeys', { maxKeys: '5' }, 'idempotency.maxKeys must be an integer >= 1, got "5"'],
      ['an unknown key', { window: 5 }, 'idempotency.window is not an option'],
      ['not an object', 5, 'idempotency must be an object { windowMilliseconds?, maxKeys? }, got 5'],
    ])('refuses %s', (_case, idempotency, message) => {
      expect(() => new TextChannel({ idempotency: idempotency as never })).toThrow(InvalidConfigurationException);
      expect(() => new TextChannel({ idempotency: idempotency as never })).toThrow(message);
    });
  });

  describe('IdempotencyKeys', () => {
    it('expires keys after the window and holds at most maxKeys, dropping the oldest first', () => {
      let now = 0;
      const keys = new IdempotencyKeys({ windowMilliseconds: 10_000, maxKeys: 1000 }, () => now);
      const answer = Promise.resolve(1);
      for (let i = 0; i < 5000; i++, now++) keys.record(`k${i}`, answer);
      expect(keys.size).toBe(1000);
      expect(keys.answerOf('k3999')).toBeUndefined();
      expect(keys.answerOf('k4000')).toBe(answer);
      now = 14_000; // k4000 was recorded at 4000
      expect(keys.answerOf('k4000')).toBeUndefined();
      expect(keys.answerOf('k4999')).toBe(answer);
      expect(keys.size).toBe(999);
      now = 15_000;
      expect(keys.answerOf('k4999')).toBeUndefined();
      expect(keys.size).toBe(0);
    });
  });
});
