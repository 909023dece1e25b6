import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable, Module, type INestApplication } from '@nestjs/common';
import {
  ChannelContainer,
  Connection,
  ERIC_SSE_CHANNEL_REPOSITORY,
  ERIC_SSE_CONNECTIONS_FACTORY,
  ERIC_SSE_OPTIONS,
  EricSseMessenger,
  EricSseModule,
  InMemoryConnectionsFactory,
  InMemoryQueue,
  InMemoryStorage,
  InvalidConfigurationException,
  MessageQueueListener,
  SimpleDistributedApplicationChannel,
  SSEChannel,
  SSEChannelRepository,
  type ConnectionsFactory,
  type ResolvedEricSseOptions,
} from '../../src/index.js';
import { bootstrapError, createApp } from './support.js';

/** A connections factory that counts what it makes. */
class CountingConnectionsFactory implements ConnectionsFactory {
  created = 0;
  create(listener: MessageQueueListener = new MessageQueueListener()): Connection {
    this.created += 1;
    return new Connection(listener, new InMemoryQueue());
  }
}

let app: INestApplication | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('EricSseModule.forRoot defaults', () => {
  it('provides the container, factory, repository, options and messenger, with the eric channel', async () => {
    app = await createApp({ imports: [EricSseModule.forRoot()] });
    const container = app.get(ChannelContainer);
    expect(container.getAllIds()).toEqual(['eric']);
    expect(container.get('eric')).toBeInstanceOf(SimpleDistributedApplicationChannel);
    expect(app.get(ERIC_SSE_CONNECTIONS_FACTORY)).toBeInstanceOf(InMemoryConnectionsFactory);
    expect(app.get(ERIC_SSE_CHANNEL_REPOSITORY)).toBeInstanceOf(SSEChannelRepository);
    expect(app.get(EricSseMessenger).listenerIds()).toEqual([]);
    expect(app.get<ResolvedEricSseOptions>(ERIC_SSE_OPTIONS)).toEqual({
      channels: [],
      onMessageChannel: 'eric',
      connectionsFactory: undefined,
      storage: undefined,
      history: { maxEvents: 1000, maxAgeMilliseconds: 300_000 },
      keepAliveMilliseconds: 15_000,
      limits: {
        maxQueueSize: 10_000,
        queueOverflow: 'drop-oldest',
        maxListenersPerChannel: Infinity,
        maxChannels: Infinity,
        maxPayloadBytes: Infinity,
        idleListenerTimeoutMilliseconds: 0,
      },
      idempotency: { windowMilliseconds: 300_000, maxKeys: 100_000 },
      rest: false,
      global: true,
    });
  });

  it('gives a repository that persists and reloads channels with their listeners', async () => {
    app = await createApp({ imports: [EricSseModule.forRoot()] });
    const repository = app.get<SSEChannelRepository>(ERIC_SSE_CHANNEL_REPOSITORY);
    const channel = new SSEChannel({ channelId: 'news', retryTimeoutMilliseconds: 100 });
    const listener = await channel.addListener();
    await repository.persist(channel);
    const loaded = await repository.loadOne('news');
    expect(loaded.retryTimeoutMilliseconds).toBe(100);
    expect(loaded.getConnections().map((c) => c.listener.id)).toEqual([listener.id]);
  });

  it('is global: a module that does not import it can inject its providers', async () => {
    @Injectable()
    class NeedsContainer {
      constructor(readonly container: ChannelContainer) {}
    }
    @Module({ providers: [NeedsContainer] })
    class FeatureModule {}
    app = await createApp({ imports: [EricSseModule.forRoot(), FeatureModule] });
    expect(app.get(NeedsContainer).container).toBe(app.get(ChannelContainer));
  });

  it('with global: false, a module must import it to inject its providers', async () => {
    @Injectable()
    class NeedsContainer {
      constructor(readonly container: ChannelContainer) {}
    }
    @Module({ providers: [NeedsContainer] })
    class FeatureModule {}
    const error = await bootstrapError({ imports: [EricSseModule.forRoot({ global: false }), FeatureModule] });
    expect(error.message).toContain('ChannelContainer');
    app = await createApp({ imports: [EricSseModule.forRoot({ global: false })] });
    expect(app.get<ResolvedEricSseOptions>(ERIC_SSE_OPTIONS).global).toBe(false);
  });
});

describe('EricSseModule.forRoot options', () => {
  it('creates the configured channels as SSEChannels with their settings, through the given factory', async () => {
    const factory = new CountingConnectionsFactory();
    const storage = new InMemoryStorage();
    app = await createApp({
      imports: [
        EricSseModule.forRoot({
          channels: [{ id: 'news', streamDelaySeconds: 0.5, retryTimeoutMilliseconds: 2000 }, { id: 'chat' }],
          connectionsFactory: factory,
          storage,
        }),
      ],
    });
    const container = app.get(ChannelContainer);
    expect(container.getAllIds()).toEqual(['news', 'chat', 'eric']);
    const news = container.get('news') as SSEChannel;
    expect(news).toBeInstanceOf(SSEChannel);
    expect(news).not.toBeInstanceOf(SimpleDistributedApplicationChannel);
    expect([news.streamDelaySeconds, news.retryTimeoutMilliseconds]).toEqual([0.5, 2000]);
    const chat = container.get('chat') as SSEChannel;
    expect([chat.streamDelaySeconds, chat.retryTimeoutMilliseconds]).toEqual([0, 5]);
    expect(app.get(ERIC_SSE_CONNECTIONS_FACTORY)).toBe(factory);
    await news.addListener();
    expect(factory.created).toBe(1);

    const repository = app.get<SSEChannelRepository>(ERIC_SSE_CHANNEL_REPOSITORY);
    expect(repository.connectionsFactory).toBe(factory);
    await repository.persist(news);
    expect(await storage.fetchByPrefix('channels:')).toEqual([news.toData()]);
  });

  it('uses a configured channel as the @OnMessage channel when the ids match, else creates it', async () => {
    app = await createApp({
      imports: [EricSseModule.forRoot({ channels: [{ id: 'bus' }], onMessageChannel: 'bus' })],
    });
    expect(app.get(ChannelContainer).getAllIds()).toEqual(['bus']);
    await app.close();
    app = await createApp({ imports: [EricSseModule.forRoot({ onMessageChannel: 'bus' })] });
    expect(app.get(ChannelContainer).get('bus')).toBeInstanceOf(SimpleDistributedApplicationChannel);
  });

  it('keeps validated REST options with their defaults', async () => {
    const guard = { canActivate: () => true };
    app = await createApp({ imports: [EricSseModule.forRoot({ rest: { guards: [guard] } })] });
    expect(app.get<ResolvedEricSseOptions>(ERIC_SSE_OPTIONS).rest).toEqual({
      path: 'eric-sse',
      guards: [guard],
      bodyLimit: 65536,
    });
    await app.close();
    app = await createApp({ imports: [EricSseModule.forRoot({ rest: { path: '/api/sse/', bodyLimit: 10 } })] });
    expect(app.get<ResolvedEricSseOptions>(ERIC_SSE_OPTIONS).rest).toEqual({
      path: 'api/sse',
      guards: [],
      bodyLimit: 10,
    });
  });
});

describe('EricSseModule.forRootAsync', () => {
  const SETTINGS = 'SETTINGS';
  @Module({ providers: [{ provide: SETTINGS, useValue: { channel: 'from-config', retry: 42 } }], exports: [SETTINGS] })
  class ConfigModule {}

  it('builds the options from injected providers', async () => {
    app = await createApp({
      imports: [
        EricSseModule.forRootAsync({
          imports: [ConfigModule],
          inject: [SETTINGS],
          useFactory: async (settings: { channel: string; retry: number }) => ({
            channels: [{ id: settings.channel, retryTimeoutMilliseconds: settings.retry }],
            onMessageChannel: 'talk',
          }),
          rest: { path: 'events' },
        }),
      ],
    });
    const container = app.get(ChannelContainer);
    expect(container.getAllIds()).toEqual(['from-config', 'talk']);
    expect((container.get('from-config') as SSEChannel).retryTimeoutMilliseconds).toBe(42);
    const options = app.get<ResolvedEricSseOptions>(ERIC_SSE_OPTIONS);
    expect(options.rest).toEqual({ path: 'events', guards: [], bodyLimit: 65536 });
    expect(options.global).toBe(true);
  });

  it('rejects a missing useFactory at once', () => {
    expect(() => EricSseModule.forRootAsync({} as never)).toThrow(
      new InvalidConfigurationException('forRootAsync needs a useFactory function'),
    );
  });

  it.each([
    ['rest', { rest: { path: 'x' } }],
    ['global', { global: false }],
  ])('rejects %s returned by useFactory at bootstrap', async (key, returned) => {
    const error = await bootstrapError({
      imports: [EricSseModule.forRootAsync({ useFactory: () => returned as never })],
    });
    expect(error).toBeInstanceOf(InvalidConfigurationException);
    expect(error.message).toBe(
      `${key} shapes the module, so it is given to forRootAsync itself, not returned by useFactory`,
    );
  });

  it('validates what useFactory returns, naming the option', async () => {
    const error = await bootstrapError({
      imports: [EricSseModule.forRootAsync({ useFactory: () => ({ channels: [{ id: 'a' }, { id: 'a' }] }) })],
    });
    expect(error).toBeInstanceOf(InvalidConfigurationException);
    expect(error.message).toBe("channels[1].id 'a' duplicates channels[0].id");
    const notObject = await bootstrapError({
      imports: [EricSseModule.forRootAsync({ useFactory: () => 'nope' as never })],
    });
    expect(notObject.message).toBe('useFactory result must be an object, got "nope"');
  });

  it('validates the structural options at once', () => {
    expect(() => EricSseModule.forRootAsync({ useFactory: () => ({}), rest: { bodyLimit: -1 } })).toThrow(
      'rest.bodyLimit must be an integer >= 1, got -1',
    );
  });
});

describe('invalid options fail at bootstrap naming the option', () => {
  it.each<[string, unknown, string]>([
    ['not an object', 'x', 'options must be an object, got "x"'],
    ['an unknown option', { chanels: [] }, 'chanels is not an option (known: channels, onMessageChannel, '],
    ['channels not an array', { channels: {} }, 'channels must be an array, got {}'],
    ['channels a bigint', { channels: 10n }, 'channels must be an array, got 10'],
    ['a channel not an object', { channels: [null] }, 'channels[0] must be an object, got null'],
    ['a channel without id', { channels: [{}] }, 'channels[0].id must be a non-empty string, got undefined'],
    ['an empty channel id', { channels: [{ id: 'a' }, { id: '' }] }, 'channels[1].id must be a non-empty string'],
    [
      'a negative retry',
      { channels: [{ id: 'a' }, { id: 'b', retryTimeoutMilliseconds: -1 }] },
      'channels[1].retryTimeoutMilliseconds must be a finite number >= 0, got -1',
    ],
    [
      'a non-numeric delay',
      { channels: [{ id: 'a', streamDelaySeconds: '1' }] },
      'channels[0].streamDelaySeconds must be a finite number >= 0, got 1',
    ],
    [
      'an unknown channel setting',
      { channels: [{ id: 'a', retry: 1 }] },
      'channels[0].retry is not an option (known: channels[0].id, channels[0].streamDelaySeconds, ',
    ],
    [
      'duplicate channel ids',
      { channels: [{ id: 'a' }, { id: 'b' }, { id: 'a' }] },
      "channels[2].id 'a' duplicates channels[0].id",
    ],
    ['an empty onMessageChannel', { onMessageChannel: '' }, 'onMessageChannel must be a non-empty string, got ""'],
    [
      'a connectionsFactory without create',
      { connectionsFactory: {} },
      'connectionsFactory must be a ConnectionsFactory (an object with create()), got {}',
    ],
    [
      'a function as connectionsFactory',
      { connectionsFactory: function makeConnections() {} },
      'connectionsFactory must be a ConnectionsFactory (an object with create()), got function makeConnections',
    ],
    [
      'a Map as storage',
      { storage: new Map() },
      'storage must be a KvStorage (fetchByPrefix, fetchAll, upsert, fetchOne, delete); missing fetchByPrefix, fetchAll, upsert, fetchOne in an instance of Map',
    ],
    [
      'a storage missing methods',
      { storage: { fetchAll: () => [], upsert: () => undefined } },
      'storage must be a KvStorage (fetchByPrefix, fetchAll, upsert, fetchOne, delete); missing fetchByPrefix, fetchOne, delete',
    ],
  ])('%s', async (_case, options, message) => {
    const error = await bootstrapError({ imports: [EricSseModule.forRoot(options as never)] });
    expect(error).toBeInstanceOf(InvalidConfigurationException);
    expect(error.message).toContain(message);
  });

  it.each<[string, unknown, string]>([
    ['global not a boolean', { global: 'yes' }, 'global must be a boolean, got "yes"'],
    ['rest: true', { rest: true }, 'rest must be false or an object, got true'],
    ['an empty rest.path', { rest: { path: '/' } }, 'rest.path must be a route path such as \'eric-sse\', got "/"'],
    ['a rest.path with spaces', { rest: { path: 'a b' } }, 'rest.path must be a route path'],
    ['a non-string rest.path', { rest: { path: 5 } }, 'rest.path must be a route path'],
    ['rest.guards not an array', { rest: { guards: {} } }, 'rest.guards must be an array, got {}'],
    [
      'a rest guard that is not one',
      { rest: { guards: [{ canActivate: () => true }, 'AuthGuard'] } },
      'rest.guards[1] must be a guard class or an object with canActivate(), got "AuthGuard"',
    ],
    ['a zero rest.bodyLimit', { rest: { bodyLimit: 0 } }, 'rest.bodyLimit must be an integer >= 1, got 0'],
    ['a fractional rest.bodyLimit', { rest: { bodyLimit: 1.5 } }, 'rest.bodyLimit must be an integer >= 1, got 1.5'],
    [
      'an unknown rest setting',
      { rest: { limit: 1 } },
      'rest.limit is not an option (known: rest.path, rest.guards, rest.bodyLimit)',
    ],
  ])('%s fails as soon as the module is built', (_case, options, message) => {
    expect(() => EricSseModule.forRoot(options as never)).toThrow(InvalidConfigurationException);
    expect(() => EricSseModule.forRoot(options as never)).toThrow(message);
  });
});
