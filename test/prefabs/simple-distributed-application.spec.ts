import { afterEach, describe, expect, it } from '@jest/globals';
import {
  InvalidChannelException,
  InvalidConfigurationException,
  InvalidListenerException,
  InvalidMessageFormat,
  MESSAGE_TYPE_INTERNAL_ERROR,
  Message,
  MessageQueueListener,
  RESERVED_ACTIONS,
  SSEChannel,
  SignedMessage,
  SimpleDistributedApplicationChannel,
  SimpleDistributedApplicationListener,
  setEricLogger,
  type Action,
  type InMemoryQueue,
  type MessageContract,
  type Payload,
  type SSEEvent,
} from '../../src/index.js';

async function collect(stream: AsyncIterable<SSEEvent>): Promise<string[]> {
  const events: string[] = [];
  for await (const e of stream) events.push(e.event);
  return events;
}

describe('SimpleDistributedApplication reference conversation', () => {
  it('Alice yields hello, stop; Bob yields hello_ack, stop', async () => {
    const channel = new SimpleDistributedApplicationChannel();
    const alice = new SimpleDistributedApplicationListener();
    const bob = new SimpleDistributedApplicationListener();
    alice.setAction('hello', (msg) => [new Message('hello_ack', `${String(msg.payload)}!`), new Message('stop')]);
    bob.setAction('hello_ack', () => [new Message('stop')]);
    await channel.registerListener(alice);
    await channel.registerListener(bob);
    alice.start();
    bob.start();
    await bob.dispatchTo(alice, new Message('hello', 'hi'));
    await bob.dispatchTo(alice, new Message('stop'));
    const [a, b] = await Promise.all([collect(channel.messageStream(alice)), collect(channel.messageStream(bob))]);
    expect(a).toEqual(['hello', 'stop']);
    expect(b).toEqual(['hello_ack', 'stop']);
    expect(alice.isRunning()).toBe(false);
    expect(bob.isRunning()).toBe(false);
  });

  it('signs answers with the answering listener id', async () => {
    const channel = new SimpleDistributedApplicationChannel();
    const alice = new SimpleDistributedApplicationListener();
    const bob = new SimpleDistributedApplicationListener();
    alice.setAction('ping', () => [new Message('pong', 1)]);
    await channel.registerListener(alice);
    await channel.registerListener(bob);
    alice.start();
    await channel.dispatch(alice.id, new SignedMessage(bob.id, 'ping'));
    await channel.deliverNext(alice.id);
    bob.start();
    const pong = await channel.deliverNext(bob.id);
    expect(pong).toBeInstanceOf(SignedMessage);
    expect(pong).toMatchObject({ type: 'pong', payload: 1, senderId: alice.id });
  });
});

interface Logged {
  debug: string[];
  error: { message: string; error: unknown }[];
}

function captureLogs(): Logged {
  const logged: Logged = { debug: [], error: [] };
  setEricLogger({
    debug: (message) => logged.debug.push(message),
    error: (message, error) => logged.error.push({ message, error }),
  });
  return logged;
}

/** Alice (who answers) and Bob (who asks), both running on one channel. */
async function pair(): Promise<{
  channel: SimpleDistributedApplicationChannel;
  alice: SimpleDistributedApplicationListener;
  bob: SimpleDistributedApplicationListener;
  ask: (type: string, payload?: Payload) => Promise<MessageContract[]>;
}> {
  const channel = new SimpleDistributedApplicationChannel();
  const alice = new SimpleDistributedApplicationListener('alice');
  const bob = new SimpleDistributedApplicationListener('bob');
  await channel.registerListener(alice);
  await channel.registerListener(bob);
  alice.start();
  bob.start();
  /** Bob sends Alice a message; Alice handles it; returns what is now queued for Bob. */
  const ask = async (type: string, payload?: Payload): Promise<MessageContract[]> => {
    await bob.dispatchTo(alice, new Message(type, payload));
    await channel.deliverNext(alice.id);
    return queued(channel, bob.id);
  };
  return { channel, alice, bob, ask };
}

function queued(channel: SimpleDistributedApplicationChannel, listenerId: string): MessageContract[] {
  const queue = channel.getConnection(listenerId).queue as InMemoryQueue;
  const out: MessageContract[] = [];
  for (let msg = queue.popNow(); msg !== undefined; msg = queue.popNow()) out.push(msg);
  return out;
}

describe('SimpleDistributedApplicationListener.setAction', () => {
  afterEach(() => setEricLogger());

  it.each(['start', 'stop'])('rejects the reserved name %s and changes nothing', async (name) => {
    const listener = new SimpleDistributedApplicationListener();
    const error = (() => {
      try {
        listener.setAction(name, () => [new Message('never')]);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(InvalidConfigurationException);
    expect((error as Error).message).toContain(name);
    expect(listener.hasAction(name)).toBe(false);
    expect(listener.isRunning()).toBe(false);

    // A message of that type still drives the state, not a user action.
    await listener.onMessage(new SignedMessage('x', 'start'));
    expect(listener.isRunning()).toBe(true);
    await listener.onMessage(new SignedMessage('x', 'stop'));
    expect(listener.isRunning()).toBe(false);
  });

  it('rejects an action that is not a function, naming it', () => {
    const listener = new SimpleDistributedApplicationListener();
    expect(() => listener.setAction('hello', 'not a function' as unknown as Action)).toThrow(
      InvalidConfigurationException,
    );
    expect(() => listener.setAction('hello', undefined as unknown as Action)).toThrow(/hello/);
    expect(listener.hasAction('hello')).toBe(false);
  });

  it('rejects an empty action name', () => {
    const listener = new SimpleDistributedApplicationListener();
    expect(() => listener.setAction('', () => undefined)).toThrow(InvalidConfigurationException);
    expect(listener.hasAction('')).toBe(false);
  });

  it('keeps the previous action when a replacement is rejected, and replaces on a valid one', async () => {
    const { alice, ask } = await pair();
    alice.setAction('q', () => [new Message('first')]);
    expect(() => alice.setAction('q', 42 as unknown as Action)).toThrow(InvalidConfigurationException);
    expect((await ask('q')).map((msg) => msg.type)).toEqual(['first']);
    alice.setAction('q', () => [new Message('second')]);
    expect((await ask('q')).map((msg) => msg.type)).toEqual(['second']);
  });

  it('exposes the reserved names', () => {
    expect(RESERVED_ACTIONS).toEqual(['start', 'stop']);
  });
});

describe('SimpleDistributedApplicationListener.onMessage', () => {
  afterEach(() => setEricLogger());

  it('starts and stops on start and stop messages', async () => {
    const listener = new SimpleDistributedApplicationListener();
    await listener.onMessage(new Message('start'));
    expect(listener.isRunning()).toBe(true);
    await listener.onMessage(new Message('stop'));
    expect(listener.isRunning()).toBe(false);
  });

  it('ignores a type without an action, logging it at debug', async () => {
    const logged = captureLogs();
    const { alice, ask } = await pair();
    expect(await ask('unknown', 1)).toEqual([]);
    expect(alice.isRunning()).toBe(true);
    expect(logged.debug.some((line) => line.includes('unknown'))).toBe(true);
    expect(logged.error).toEqual([]);
  });

  it('runs a sync action with the signed message and answers the sender, signed by the listener', async () => {
    const { alice, bob, ask } = await pair();
    const seen: SignedMessage[] = [];
    alice.setAction('add', (msg) => {
      seen.push(msg);
      const [a, b] = msg.payload as number[];
      return [new Message('sum', a + b), new Message('done')];
    });
    const answers = await ask('add', [2, 3]);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(SignedMessage);
    expect(seen[0]).toMatchObject({ senderId: bob.id, type: 'add', payload: [2, 3] });
    expect(answers).toEqual([new SignedMessage(alice.id, 'sum', 5), new SignedMessage(alice.id, 'done')]);
    expect(answers.every((msg) => msg instanceof SignedMessage)).toBe(true);
  });

  it('awaits an async action before answering', async () => {
    const { alice, ask } = await pair();
    alice.setAction('slow', async (msg) => {
      await new Promise((resolve) => setImmediate(resolve));
      return [new Message('slow_ack', msg.payload)];
    });
    expect(await ask('slow', 'x')).toEqual([new SignedMessage(alice.id, 'slow_ack', 'x')]);
  });

  it.each([
    ['undefined', () => undefined],
    ['null', () => null as unknown as undefined],
    ['an empty array', () => []],
    ['a promise of nothing', async () => undefined],
  ])('sends nothing back when the action returns %s', async (_label, action) => {
    const { alice, ask } = await pair();
    alice.setAction('quiet', action as Action);
    expect(await ask('quiet')).toEqual([]);
  });

  it.each([
    [
      'throws',
      (): never => {
        throw new RangeError('out of range');
      },
      'RangeError',
      'out of range',
    ],
    [
      'rejects',
      async (): Promise<never> => {
        throw new InvalidMessageFormat('bad input');
      },
      'InvalidMessageFormat',
      'bad input',
    ],
    [
      'throws a non-Error',
      (): never => {
        throw 'plain text';
      },
      'Error',
      'plain text',
    ],
  ])(
    'answers an internal error naming the error when the action %s, logs it and keeps running',
    async (_label, action, name, text) => {
      const logged = captureLogs();
      const { alice, ask } = await pair();
      alice.setAction('fail', action as Action);
      alice.setAction('ok', () => [new Message('fine')]);
      const answers = await ask('fail', 1);
      expect(answers).toEqual([
        new SignedMessage(alice.id, MESSAGE_TYPE_INTERNAL_ERROR, { error: name, message: text, type: 'fail' }),
      ]);
      expect(logged.error).toHaveLength(1);
      expect(logged.error[0].message).toContain('fail');
      expect(alice.isRunning()).toBe(true);
      expect((await ask('ok')).map((msg) => msg.type)).toEqual(['fine']);
    },
  );

  it.each([
    ['a single message', () => new Message('oops')],
    ['a string', () => 'oops'],
    ['an array holding a non-message', () => [new Message('ok'), 'oops']],
  ])('answers an InvalidMessageFormat internal error when the action returns %s', async (_label, action) => {
    captureLogs();
    const { alice, ask } = await pair();
    alice.setAction('odd', action as unknown as Action);
    const answers = await ask('odd');
    expect(answers).toHaveLength(1);
    expect(answers[0]).toMatchObject({
      type: MESSAGE_TYPE_INTERNAL_ERROR,
      senderId: alice.id,
      payload: { error: 'InvalidMessageFormat', type: 'odd' },
    });
    expect(alice.isRunning()).toBe(true);
  });

  it('drops answers to an unsigned message without error, logging at debug', async () => {
    const logged = captureLogs();
    const { channel, alice, bob } = await pair();
    let runs = 0;
    alice.setAction('hello', () => {
      runs++;
      return [new Message('hello_ack')];
    });
    await channel.dispatch(alice.id, new Message('hello'));
    await channel.dispatch(alice.id, new SignedMessage('', 'hello'));
    await expect(channel.deliverNext(alice.id)).resolves.toBeDefined();
    await expect(channel.deliverNext(alice.id)).resolves.toBeDefined();
    expect(runs).toBe(2);
    expect(queued(channel, bob.id)).toEqual([]);
    expect(queued(channel, alice.id)).toEqual([]);
    expect(logged.debug.filter((line) => line.includes('no sender'))).toHaveLength(2);
    expect(logged.error).toEqual([]);
  });

  it('logs nothing for an unsigned message whose action answers nothing', async () => {
    const logged = captureLogs();
    const { channel, alice } = await pair();
    let runs = 0;
    alice.setAction('note', () => {
      runs++;
    });
    await channel.dispatch(alice.id, new Message('note'));
    await channel.deliverNext(alice.id);
    expect(runs).toBe(1);
    expect(logged).toEqual({ debug: [], error: [] });
  });

  it('gives the action a SignedMessage when handed a plain signed object', async () => {
    const { alice, bob } = await pair();
    let seen: SignedMessage | undefined;
    alice.setAction('raw', (msg) => {
      seen = msg;
      return [new Message('raw_ack')];
    });
    await alice.onMessage({ type: 'raw', payload: 1, senderId: bob.id } as MessageContract);
    expect(seen).toBeInstanceOf(SignedMessage);
    expect(seen).toMatchObject({ senderId: bob.id, type: 'raw', payload: 1 });
  });

  it('drops answers to a sender that left the channel, logs it and keeps streaming', async () => {
    const logged = captureLogs();
    const { channel, alice, bob } = await pair();
    alice.setAction('hello', () => [new Message('hello_ack')]);
    await channel.dispatch(alice.id, new SignedMessage('gone', 'hello'));
    await channel.dispatch(alice.id, new SignedMessage(bob.id, 'hello'));
    await channel.dispatch(alice.id, new Message('stop'));
    const events: string[] = [];
    for await (const event of channel.messageStream(alice)) events.push(event.event);
    expect(events).toEqual(['hello', 'hello', 'stop']);
    expect(queued(channel, bob.id)).toEqual([new SignedMessage(alice.id, 'hello_ack')]);
    expect(logged.error).toHaveLength(1);
    expect(logged.error[0].message).toContain('gone');
    expect(logged.error[0].error).toBeInstanceOf(InvalidListenerException);
  });
});

describe('SimpleDistributedApplicationListener.dispatchTo', () => {
  it('makes onMessage reject with InvalidChannelException when answers have no channel to go through', async () => {
    const listener = new SimpleDistributedApplicationListener();
    listener.setAction('hello', () => [new Message('hello_ack')]);
    listener.start();
    await expect(listener.onMessage(new SignedMessage('bob', 'hello'))).rejects.toBeInstanceOf(InvalidChannelException);
  });

  it('rejects with InvalidChannelException when the listener has no channel', async () => {
    const listener = new SimpleDistributedApplicationListener();
    expect(listener.getChannel()).toBeUndefined();
    await expect(listener.dispatchTo('anyone', new Message('x'))).rejects.toBeInstanceOf(InvalidChannelException);
  });

  it('sends a message signed by the listener, to a listener or an id', async () => {
    const { channel, alice, bob } = await pair();
    await alice.dispatchTo(bob, new Message('one', 1));
    await alice.dispatchTo(bob.id, new SignedMessage('forged', 'two'));
    expect(queued(channel, bob.id)).toEqual([
      new SignedMessage(alice.id, 'one', 1),
      new SignedMessage(alice.id, 'two'),
    ]);
  });

  it('rejects with InvalidListenerException for an unknown receiver', async () => {
    const { alice } = await pair();
    await expect(alice.dispatchTo('ghost', new Message('x'))).rejects.toBeInstanceOf(InvalidListenerException);
  });

  it('works through a channel set by hand on any channel', async () => {
    const channel = new SSEChannel();
    const alice = new SimpleDistributedApplicationListener();
    const bob = await channel.addListener();
    await channel.registerListener(alice);
    expect(alice.getChannel()).toBeUndefined();
    alice.setChannel(channel);
    expect(alice.getChannel()).toBe(channel);
    await alice.dispatchTo(bob, new Message('hi'));
    bob.start();
    expect(await channel.deliverNext(bob.id)).toEqual(new SignedMessage(alice.id, 'hi'));
  });
});

describe('SimpleDistributedApplicationChannel', () => {
  it('is an SSEChannel that gives registered distributed-application listeners their channel', async () => {
    const channel = new SimpleDistributedApplicationChannel({ channelId: 'app', retryTimeoutMilliseconds: 9 });
    expect(channel).toBeInstanceOf(SSEChannel);
    expect(channel.adapt(new Message('x', 1))).toEqual({ event: 'x', retry: 9, data: 1 });
    const listener = new SimpleDistributedApplicationListener();
    await channel.registerListener(listener);
    expect(listener.getChannel()).toBe(channel);
  });

  it('registers plain listeners too', async () => {
    const channel = new SimpleDistributedApplicationChannel();
    const plain = await channel.addListener();
    const other = new MessageQueueListener();
    await channel.registerListener(other);
    expect(channel.getConnections().map((connection) => connection.listener)).toEqual([plain, other]);
  });

  it('does not take over a listener whose registration was rejected', async () => {
    const first = new SimpleDistributedApplicationChannel();
    const second = new SimpleDistributedApplicationChannel();
    const listener = new SimpleDistributedApplicationListener('same');
    await first.registerListener(listener);
    await second.registerListener(new MessageQueueListener('same'));
    await expect(second.registerListener(listener)).rejects.toBeInstanceOf(InvalidListenerException);
    expect(listener.getChannel()).toBe(first);
  });

  it('streams a conversation with async actions and an error answer', async () => {
    captureLogs();
    const channel = new SimpleDistributedApplicationChannel();
    const server = new SimpleDistributedApplicationListener();
    const client = new SimpleDistributedApplicationListener();
    server.setAction('divide', async (msg) => {
      const [a, b] = msg.payload as number[];
      if (b === 0) throw new RangeError('division by zero');
      return [new Message('quotient', a / b)];
    });
    const results: Payload[] = [];
    client.setAction('quotient', (msg) => {
      results.push(msg.payload);
    });
    client.setAction(MESSAGE_TYPE_INTERNAL_ERROR, (msg) => {
      results.push(msg.payload);
      return [new Message('stop')];
    });
    await channel.registerListener(server);
    await channel.registerListener(client);
    server.start();
    client.start();
    await client.dispatchTo(server, new Message('divide', [6, 3]));
    await client.dispatchTo(server, new Message('divide', [1, 0]));
    const serverEvents = channel.messageStream(server);
    const clientEvents = channel.messageStream(client);
    const clientTypes = (async () => {
      const first = await clientEvents.next();
      const second = await clientEvents.next();
      return [first.value?.event, second.value?.event];
    })();
    expect((await serverEvents.next()).value).toMatchObject({ event: 'divide' });
    expect((await serverEvents.next()).value).toMatchObject({ event: 'divide' });
    expect(await clientTypes).toEqual(['quotient', MESSAGE_TYPE_INTERNAL_ERROR]);
    expect(results).toEqual([2, { error: 'RangeError', message: 'division by zero', type: 'divide' }]);
    // The client stopped the server with its answer to the error.
    expect((await serverEvents.next()).value).toMatchObject({ event: 'stop' });
    expect((await serverEvents.next()).done).toBe(true);
    expect(server.isRunning()).toBe(false);
    client.stop();
    expect((await clientEvents.next()).done).toBe(true);
    setEricLogger();
  });
});
