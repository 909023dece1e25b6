import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Injectable, Scope, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  ChannelContainer,
  Connection,
  EricSseMessenger,
  EricSseModule,
  InMemoryQueue,
  InvalidChannelException,
  InvalidConfigurationException,
  InvalidListenerException,
  InvalidMessageFormat,
  Message,
  MESSAGE_TYPE_INTERNAL_ERROR,
  MessageQueueListener,
  OnMessage,
  RepositoryError,
  SignedMessage,
  SimpleDistributedApplicationChannel,
  type AbstractChannel,
  type ConnectionsFactory,
  type MessageContract,
  type SSEEvent,
} from '../../src/index.js';
import { bootstrapError, createApp, RecordingLogger } from './support.js';

let app: INestApplication | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** A queue whose next pop fails once when told to, as a remote queue can. */
class FlakyQueue extends InMemoryQueue {
  failNextPop = false;

  override popNow(): MessageContract | undefined {
    if (this.failNextPop) {
      this.failNextPop = false;
      throw new RepositoryError('storage down');
    }
    return super.popNow();
  }
}

class FlakyConnectionsFactory implements ConnectionsFactory {
  create(listener: MessageQueueListener = new MessageQueueListener()): Connection {
    return new Connection(listener, new FlakyQueue());
  }
}

/** Resolves when the listener next stops. */
function stopped(listener: MessageQueueListener): Promise<void> {
  return new Promise((resolve) => listener.onStop(resolve));
}

/** A plain listener on the channel, started, to talk to @OnMessage listeners from a test. */
async function client(channel: AbstractChannel): Promise<MessageQueueListener> {
  const listener = await channel.addListener();
  listener.start();
  return listener;
}

/** The next `count` events of the listener's stream. */
async function take(channel: AbstractChannel, listener: MessageQueueListener, count: number): Promise<SSEEvent[]> {
  const events: SSEEvent[] = [];
  if (count === 0) return events;
  for await (const event of channel.messageStream(listener)) {
    events.push(event as SSEEvent);
    if (events.length === count) break;
  }
  return events;
}

describe('@OnMessage: the SPEC §2 conversation', () => {
  @Injectable()
  class Alice {
    readonly received: SignedMessage[] = [];

    @OnMessage('hello')
    hello(msg: SignedMessage) {
      this.received.push(msg);
      return [new Message('hello_ack', `${String(msg.payload)}!`), new Message('stop')];
    }
  }

  @Injectable()
  class Bob {
    readonly received: SignedMessage[] = [];

    @OnMessage('hello_ack')
    async helloAck(msg: SignedMessage) {
      await Promise.resolve();
      this.received.push(msg);
      return [new Message('stop')];
    }
  }

  /** Application code that makes Bob start the conversation. */
  @Injectable()
  class Conversation {
    constructor(private readonly messenger: EricSseMessenger) {}

    async start(): Promise<void> {
      await this.messenger.dispatchTo('Bob', 'Alice', new Message('hello', 'hi'));
      await this.messenger.dispatchTo('Bob', 'Alice', new Message('stop'));
    }
  }

  it('Bob sends Alice hello then stop; Alice answers hello_ack and stop; Bob answers stop', async () => {
    app = await createApp({ imports: [EricSseModule.forRoot()], providers: [Alice, Bob, Conversation] });
    const messenger = app.get(EricSseMessenger);
    expect(messenger.listenerIds()).toEqual(['Alice', 'Bob']);
    const alice = messenger.listener('Alice');
    const bob = messenger.listener('Bob');
    expect([alice.isRunning(), bob.isRunning()]).toEqual([true, true]);
    expect(app.get(ChannelContainer).get('eric').getListener('Alice')).toBe(alice);
    const bothStopped = Promise.all([stopped(alice), stopped(bob)]);

    await app.get(Conversation).start();
    await bothStopped;

    expect(app.get(Alice).received).toEqual([
      expect.objectContaining({ type: 'hello', payload: 'hi', senderId: 'Bob' }),
    ]);
    expect(app.get(Bob).received).toEqual([
      expect.objectContaining({ type: 'hello_ack', payload: 'hi!', senderId: 'Alice' }),
    ]);
    expect([alice.isRunning(), bob.isRunning()]).toEqual([false, false]);
    // Bob's closing `stop` waits in Alice's queue, as in the reference conversation.
    const aliceQueue = app.get(ChannelContainer).get('eric').getConnection('Alice').queue as InMemoryQueue;
    expect(aliceQueue.peekAll()).toEqual([expect.objectContaining({ type: 'stop', senderId: 'Bob' })]);
  });
});

describe('@OnMessage actions', () => {
  @Injectable()
  class Calculator {
    @OnMessage('add')
    async add(msg: SignedMessage) {
      const [a, b] = msg.payload as number[];
      await new Promise((resolve) => setImmediate(resolve));
      return [new Message('sum', a + b)];
    }

    @OnMessage('note')
    note() {
      return undefined;
    }

    @OnMessage('boom')
    boom(): never {
      throw new RangeError('kaput');
    }

    @OnMessage('x')
    @OnMessage('y')
    either(msg: SignedMessage) {
      return [new Message(`got_${msg.type}`)];
    }
  }

  it('runs async actions and sends what they return back to the sender', async () => {
    app = await createApp({ imports: [EricSseModule.forRoot()], providers: [Calculator] });
    const eric = app.get(ChannelContainer).get('eric');
    const me = await client(eric);
    const messenger = app.get(EricSseMessenger);
    await messenger.dispatchTo(me.id, 'Calculator', new Message('note'));
    await messenger.dispatchTo(me.id, 'Calculator', new Message('add', [2, 3]));
    await messenger.dispatchTo(me.id, 'Calculator', new Message('y'));
    await messenger.dispatchTo(me.id, 'Calculator', new Message('x'));
    const events = await take(eric, me, 3);
    expect(events.map((e) => [e.event, e.data])).toEqual([
      ['sum', 5],
      ['got_y', undefined],
      ['got_x', undefined],
    ]);
  });

  it('answers an action that throws with MESSAGE_TYPE_INTERNAL_ERROR, logs it through Nest and keeps running', async () => {
    const logger = new RecordingLogger();
    const moduleRef = await Test.createTestingModule({
      imports: [EricSseModule.forRoot()],
      providers: [Calculator],
    }).compile();
    app = moduleRef.createNestApplication({ logger });
    await app.init();
    const eric = app.get(ChannelContainer).get('eric');
    const me = await client(eric);
    const messenger = app.get(EricSseMessenger);
    await messenger.dispatchTo(me.id, 'Calculator', new Message('boom'));
    await messenger.dispatchTo(me.id, 'Calculator', new Message('add', [1, 1]));
    const events = await take(eric, me, 2);
    expect(events.map((e) => [e.event, e.data])).toEqual([
      [MESSAGE_TYPE_INTERNAL_ERROR, { error: 'RangeError', message: 'kaput', type: 'boom' }],
      ['sum', 2],
    ]);
    expect(messenger.listener('Calculator').isRunning()).toBe(true);
    expect(logger.lines).toContainEqual({
      level: 'error',
      message: "Action 'boom' of listener Calculator failed: kaput",
    });
  });

  it('keeps consuming after a message whose answer cannot be delivered', async () => {
    app = await createApp({ imports: [EricSseModule.forRoot()], providers: [Calculator] });
    const eric = app.get(ChannelContainer).get('eric');
    const me = await client(eric);
    // The sender of this one is not on the channel: the answer has nowhere to go.
    await eric.dispatch('Calculator', new SignedMessage('ghost', 'add', [1, 2]));
    await app.get(EricSseMessenger).dispatchTo(me.id, 'Calculator', new Message('add', [4, 4]));
    expect((await take(eric, me, 1)).map((e) => e.data)).toEqual([8]);
    expect(app.get(EricSseMessenger).listener('Calculator').isRunning()).toBe(true);
  });

  it('logs a stream failure through Nest and resumes consuming', async () => {
    const logger = new RecordingLogger();
    const factory = new FlakyConnectionsFactory();
    const moduleRef = await Test.createTestingModule({
      imports: [EricSseModule.forRoot({ connectionsFactory: factory })],
      providers: [Calculator],
    }).compile();
    app = moduleRef.createNestApplication({ logger });
    await app.init();
    const eric = app.get(ChannelContainer).get('eric');
    const me = await client(eric);
    const calculatorQueue = eric.getConnection('Calculator').queue as FlakyQueue;
    calculatorQueue.failNextPop = true;
    await app.get(EricSseMessenger).dispatchTo(me.id, 'Calculator', new Message('add', [4, 4]));
    expect((await take(eric, me, 1)).map((e) => e.data)).toEqual([8]);
    expect(calculatorQueue.failNextPop).toBe(false);
    expect(logger.lines).toContainEqual({
      level: 'error',
      message: 'Listener Calculator (channel eric) failed to handle a message: RepositoryError: storage down',
    });
  });

  it('restarts a listener that a stop message stopped', async () => {
    app = await createApp({ imports: [EricSseModule.forRoot()], providers: [Calculator] });
    const eric = app.get(ChannelContainer).get('eric');
    const me = await client(eric);
    const messenger = app.get(EricSseMessenger);
    const calculator = messenger.listener('Calculator');
    const calculatorStopped = stopped(calculator);
    await messenger.dispatchTo(me.id, 'Calculator', new Message('stop'));
    await calculatorStopped;
    expect(calculator.isRunning()).toBe(false);
    await messenger.dispatchTo(me.id, 'Calculator', new Message('add', [5, 5]));
    messenger.start('Calculator');
    messenger.start('Calculator');
    expect(calculator.isRunning()).toBe(true);
    expect((await take(eric, me, 1)).map((e) => e.data)).toEqual([10]);
  });
});

describe('@OnMessage options', () => {
  @Injectable()
  class Side {
    @OnMessage('ping', { listenerId: 'side-kick', channel: 'side' })
    ping() {
      return [new Message('pong')];
    }

    @OnMessage('pong', { channel: 'side' })
    pong() {
      return undefined;
    }
  }

  @Controller()
  class TalkingController {
    @OnMessage('ping')
    ping() {
      return [new Message('pong_from_controller')];
    }
  }

  it('puts the listener under its listenerId on its channel, creating the channel', async () => {
    app = await createApp({
      imports: [EricSseModule.forRoot()],
      providers: [Side],
      controllers: [TalkingController],
    });
    const container = app.get(ChannelContainer);
    expect(container.getAllIds()).toEqual(['eric', 'side']);
    const side = container.get('side');
    expect(side).toBeInstanceOf(SimpleDistributedApplicationChannel);
    const messenger = app.get(EricSseMessenger);
    expect(messenger.listenerIds()).toEqual(['side-kick', 'TalkingController']);
    expect(side.getListener('side-kick')).toBe(messenger.listener('side-kick'));

    const me = await client(side);
    await messenger.dispatchTo(me.id, 'side-kick', new Message('ping'), 'side');
    expect((await take(side, me, 1)).map((e) => e.event)).toEqual(['pong']);

    const eric = container.get('eric');
    const other = await client(eric);
    await messenger.dispatchTo(other.id, 'TalkingController', new Message('ping'));
    expect((await take(eric, other, 1)).map((e) => e.event)).toEqual(['pong_from_controller']);
  });

  it("defaults dispatchTo's channel to the sender's @OnMessage channel", async () => {
    app = await createApp({ imports: [EricSseModule.forRoot()], providers: [Side] });
    const messenger = app.get(EricSseMessenger);
    const side = app.get(ChannelContainer).get('side');
    const me = await client(side);
    // side-kick sends `pong` to `me` on the `side` channel.
    await messenger.dispatchTo('side-kick', me.id, new Message('pong', 1));
    expect((await take(side, me, 1)).map((e) => [e.event, e.data])).toEqual([['pong', 1]]);
  });

  it('joins a configured SSE channel when it is the @OnMessage channel', async () => {
    app = await createApp({
      imports: [EricSseModule.forRoot({ channels: [{ id: 'bus' }], onMessageChannel: 'bus' })],
      providers: [TalkingController],
    });
    const bus = app.get(ChannelContainer).get('bus');
    expect(bus).not.toBeInstanceOf(SimpleDistributedApplicationChannel);
    const me = await client(bus);
    await app.get(EricSseMessenger).dispatchTo(me.id, 'TalkingController', new Message('ping'));
    expect((await take(bus, me, 1)).map((e) => e.event)).toEqual(['pong_from_controller']);
  });

  it('ignores request-scoped and transient providers, with a warning', async () => {
    @Injectable({ scope: Scope.REQUEST })
    class PerRequest {
      @OnMessage('a')
      a() {}
    }
    @Injectable({ scope: Scope.TRANSIENT })
    class PerConsumer {
      @OnMessage('a')
      a() {}
    }
    const logger = new RecordingLogger();
    const moduleRef = await Test.createTestingModule({
      imports: [EricSseModule.forRoot()],
      providers: [PerRequest, PerConsumer],
    }).compile();
    app = moduleRef.createNestApplication({ logger });
    await app.init();
    expect(app.get(EricSseMessenger).listenerIds()).toEqual([]);
    const warnings = logger.lines.filter((line) => line.level === 'warn').map((line) => line.message);
    expect(warnings).toEqual([
      expect.stringContaining('@OnMessage methods of PerRequest are ignored: it is request-scoped or transient'),
      expect.stringContaining('@OnMessage methods of PerConsumer are ignored: it is request-scoped or transient'),
    ]);
  });
});

describe('EricSseMessenger errors', () => {
  @Injectable()
  class Echo {
    @OnMessage('echo')
    echo(msg: SignedMessage) {
      return [new Message('echo', msg.payload)];
    }
  }

  it('rejects unknown channels, listeners and malformed messages, sending nothing', async () => {
    app = await createApp({ imports: [EricSseModule.forRoot()], providers: [Echo] });
    const messenger = app.get(EricSseMessenger);
    const eric = app.get(ChannelContainer).get('eric');
    const idle = await eric.addListener();
    const queue = eric.getConnection(idle.id).queue as InMemoryQueue;

    await expect(messenger.dispatchTo('nobody', idle.id, new Message('a'))).rejects.toThrow(
      new InvalidListenerException('No listener with id nobody in channel eric'),
    );
    await expect(messenger.dispatchTo('Echo', idle.id, new Message('a'), 'nowhere')).rejects.toThrow(
      new InvalidChannelException('No channel with id nowhere'),
    );
    await expect(messenger.dispatchTo('Echo', 'nobody', new Message('a'))).rejects.toThrow(
      new InvalidListenerException('No listener with id nobody in channel eric'),
    );
    await expect(messenger.dispatchTo('Echo', idle.id, { type: '' })).rejects.toThrow(
      new InvalidMessageFormat('A message needs a non-empty string type, got ""'),
    );
    await expect(messenger.dispatchTo('Echo', idle.id, {} as Message)).rejects.toThrow(InvalidMessageFormat);
    expect(queue.size).toBe(0);

    expect(() => messenger.listener('nobody')).toThrow(
      new InvalidListenerException('No @OnMessage listener with id nobody'),
    );
    expect(() => messenger.start('nobody')).toThrow(InvalidListenerException);
  });
});

describe('@OnMessage bootstrap errors name class and method', () => {
  @Injectable()
  class Fine {
    @OnMessage('fine')
    fine() {}
  }

  @Injectable()
  class Reserved {
    @OnMessage('ok')
    ok() {}

    @OnMessage('stop')
    halt() {}
  }

  @Injectable()
  class ReservedStart {
    @OnMessage('start')
    begin() {}
  }

  @Injectable()
  class Duplicate {
    @OnMessage('a')
    one() {}

    @OnMessage('a')
    two() {}
  }

  @Injectable()
  class EmptyType {
    @OnMessage('')
    nothing() {}
  }

  @Injectable()
  class ClaimsX {
    @OnMessage('a', { listenerId: 'x' })
    a() {}
  }

  @Injectable()
  class AlsoClaimsX {
    @OnMessage('b', { listenerId: 'x' })
    b() {}
  }

  @Injectable()
  class TwoIds {
    @OnMessage('a', { listenerId: 'first' })
    a() {}

    @OnMessage('b')
    b() {}

    @OnMessage('c', { listenerId: 'second' })
    c() {}
  }

  @Injectable()
  class TwoChannels {
    @OnMessage('a', { channel: 'one' })
    a() {}

    @OnMessage('b', { channel: 'two' })
    b() {}
  }

  @Injectable()
  class BadId {
    @OnMessage('a', { listenerId: '' })
    a() {}
  }

  function namedSame() {
    @Injectable()
    class Same {
      @OnMessage('a')
      a() {}
    }
    return Same;
  }
  const SameOne = namedSame();
  const SameTwo = namedSame();

  it.each<[string, unknown[], string]>([
    ['a reserved stop', [Fine, Reserved], "@OnMessage('stop') on Reserved.halt: 'stop' is reserved (start, stop)"],
    ['a reserved start', [ReservedStart], "@OnMessage('start') on ReservedStart.begin: 'start' is reserved"],
    ['a duplicate type', [Duplicate], "@OnMessage('a') on Duplicate.two duplicates Duplicate.one"],
    [
      'an empty type',
      [EmptyType],
      '@OnMessage on EmptyType.nothing: the message type must be a non-empty string, got ""',
    ],
    [
      'two providers claiming one listener id',
      [ClaimsX, AlsoClaimsX],
      "Listener id 'x' is claimed by both ClaimsX (ClaimsX.a) and AlsoClaimsX (AlsoClaimsX.b)",
    ],
    [
      'two classes with one name and no listenerId',
      [SameOne, { provide: 'other', useClass: SameTwo }],
      "Listener id 'Same' is claimed by both Same (Same.a) and Same (Same.a)",
    ],
    [
      'conflicting listenerIds in one class',
      [TwoIds],
      "@OnMessage on TwoIds.c sets listenerId 'second' but TwoIds.a sets 'first': one class is one listener",
    ],
    [
      'conflicting channels in one class',
      [TwoChannels],
      "@OnMessage on TwoChannels.b sets channel 'two' but TwoChannels.a sets 'one'",
    ],
    ['an empty listenerId', [BadId], '@OnMessage on BadId.a: listenerId must be a non-empty string, got ""'],
  ])('%s', async (_case, providers, message) => {
    const error = await bootstrapError({ imports: [EricSseModule.forRoot()], providers: providers as never[] });
    expect(error).toBeInstanceOf(InvalidConfigurationException);
    expect(error.message).toContain(message);
  });

  it('registers nothing when one provider is wrong', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [EricSseModule.forRoot()],
      providers: [Fine, Duplicate],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await expect(app.init()).rejects.toThrow(InvalidConfigurationException);
    expect(app.get(ChannelContainer).get('eric').getConnections()).toEqual([]);
    expect(app.get(EricSseMessenger).listenerIds()).toEqual([]);
  });
});
