import { afterEach, describe, expect, it } from '@jest/globals';
import {
  Controller,
  Get,
  Injectable,
  NotFoundException,
  Param,
  Req,
  Res,
  Sse,
  type INestApplication,
  type MessageEvent,
} from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { filter, firstValueFrom, type Observable } from 'rxjs';
import request from 'supertest';
import {
  ChannelContainer,
  ERIC_SSE_CHANNEL_REPOSITORY,
  ERIC_SSE_CONNECTIONS_FACTORY,
  EricSseMessenger,
  EricSseModule,
  EricSseStreams,
  InMemoryStorage,
  InvalidConfigurationException,
  Message,
  OnMessage,
  RedisChannelRepository,
  RedisConnectionsFactory,
  RedisSSEChannel,
  RedisSimpleDistributedApplicationChannel,
  RepositoryError,
  SignedMessage,
  type EricSseModuleOptions,
} from '../../src/index.js';
import { bootstrapError, createApp } from '../nest/support.js';
import { RawSseClient } from '../streaming/support.js';
import { RedisServer, describeWithRedis } from './redis-server.js';
import { uniquePrefix, useRedisServer } from './support.js';

/** The payloads `Echo` instances handled, whichever app ran them. */
const handled: unknown[] = [];

@Injectable()
class Echo {
  @OnMessage('ping')
  ping(msg: SignedMessage) {
    handled.push(msg.payload);
    return [new Message('pong', msg.payload)];
  }
}

@Controller('s')
class StreamsController {
  constructor(private readonly streams: EricSseStreams) {}

  @Sse('open/:c/:l')
  open(@Param('c') c: string, @Param('l') l: string): Promise<Observable<MessageEvent>> {
    return this.streams.openEvents(c, l);
  }

  @Sse('events/:c/:l')
  events(@Param('c') c: string, @Param('l') l: string): Observable<MessageEvent> {
    return this.streams.events(c, l);
  }

  /** The README's fast path, written without `return`: pipe answers its errors itself. */
  @Get('pipe/:c/:l')
  pipe(@Param('c') c: string, @Param('l') l: string, @Req() req: IncomingMessage, @Res() res: ServerResponse): void {
    void this.streams.pipe(req, res, c, l);
  }

  @Get('ping')
  ping(): string {
    return 'pong';
  }
}

/** A message event, not a stream's resume point (an event with only an id). */
const isMessage = (event: MessageEvent): boolean => event.type !== undefined;

/** Names of the eric-sse connections Redis has, whichever app they belong to. */
async function clientNames(app: INestApplication): Promise<string[]> {
  const repository = app.get<RedisChannelRepository>(ERIC_SSE_CHANNEL_REPOSITORY);
  const list = String(await repository.backend.client.client('LIST'));
  return list
    .split('\n')
    .map((line) => /name=(eric-sse-\S+)/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined)
    .sort();
}

describeWithRedis('EricSseModule on Redis', () => {
  const redisServer = useRedisServer();
  let apps: INestApplication[] = [];

  afterEach(async () => {
    await Promise.all(apps.map((app) => app.close()));
    apps = [];
    handled.length = 0;
  });

  async function app(options: EricSseModuleOptions, extra: { providers?: unknown[]; controllers?: unknown[] } = {}) {
    const created = await createApp({
      imports: [EricSseModule.forRoot(options)],
      providers: (extra.providers ?? []) as never[],
      controllers: (extra.controllers ?? []) as never[],
    });
    apps.push(created);
    return created;
  }

  describe('options', () => {
    it('keeps channels, listeners and queues in Redis when redis is given', async () => {
      const prefix = uniquePrefix();
      const created = await app({ redis: redisServer.url, keyPrefix: prefix, channels: [{ id: 'news' }] });
      const repository = created.get(ERIC_SSE_CHANNEL_REPOSITORY);
      expect(repository).toBeInstanceOf(RedisChannelRepository);
      expect(created.get(ERIC_SSE_CONNECTIONS_FACTORY)).toBeInstanceOf(RedisConnectionsFactory);
      const container = created.get(ChannelContainer);
      expect(container.store).toBe(repository);
      expect(container.get('news')).toBeInstanceOf(RedisSSEChannel);
      expect(container.get('eric')).toBeInstanceOf(RedisSimpleDistributedApplicationChannel);
      expect(await container.listIds()).toEqual(['news', 'eric']);
      expect((repository as RedisChannelRepository).backend.keyPrefix).toBe(prefix);
    });

    it('takes redis from forRootAsync', async () => {
      const prefix = uniquePrefix();
      const created = await createApp({
        imports: [
          EricSseModule.forRootAsync({ useFactory: async () => ({ redis: redisServer.url, keyPrefix: prefix }) }),
        ],
      });
      apps.push(created);
      expect(await created.get(ChannelContainer).listIds()).toEqual(['eric']);
    });

    it.each([
      ['keyPrefix without redis', { keyPrefix: 'x:' }, /keyPrefix is a Redis setting/],
      ['redis with storage', { redis: 'redis://h', storage: new InMemoryStorage() }, /redis and storage/],
      [
        'redis with a connections factory',
        { redis: 'redis://h', connectionsFactory: { create: () => undefined } },
        /redis and connectionsFactory/,
      ],
      ['a URL that is not redis://', { redis: 'localhost:6379' }, /redis must be a redis:\/\/ or rediss:\/\/ URL/],
      ['an empty keyPrefix', { redis: 'redis://h', keyPrefix: '' }, /keyPrefix must be a non-empty string/],
    ])('refuses %s with InvalidConfigurationException', async (_what, options, message) => {
      const error = await bootstrapError({ imports: [EricSseModule.forRoot(options as EricSseModuleOptions)] });
      expect(error).toBeInstanceOf(InvalidConfigurationException);
      expect(error.message).toMatch(message);
    });

    it('fails to start with RepositoryError when Redis cannot be reached', async () => {
      const gone = await RedisServer.start();
      const url = gone.url;
      await gone.dispose();
      const error = await bootstrapError({ imports: [EricSseModule.forRoot({ redis: url })] });
      expect(error).toBeInstanceOf(RepositoryError);
    });
  });

  it('closes its Redis connections when the app closes', async () => {
    const created = await app({ redis: redisServer.url, keyPrefix: uniquePrefix() });
    expect(await clientNames(created)).toEqual(['eric-sse-commands', 'eric-sse-pubsub']);
    const { backend } = created.get<RedisChannelRepository>(ERIC_SSE_CHANNEL_REPOSITORY);
    await created.close();
    apps = [];
    expect([backend.client.status, backend.subscriber.status]).toEqual(['end', 'end']);
    expect(backend.isClosed).toBe(true);
  });

  describe('two instances in one process', () => {
    async function twoApps(): Promise<[INestApplication, INestApplication]> {
      const prefix = uniquePrefix();
      const options = { redis: redisServer.url, keyPrefix: prefix };
      const a = await app(options, { providers: [Echo], controllers: [StreamsController] });
      const b = await app(options, { providers: [Echo], controllers: [StreamsController] });
      return [a, b];
    }

    it('streams through @Sse (openEvents and events) a listener another instance made', async () => {
      const [a, b] = await twoApps();
      const channel = a.get(ChannelContainer).get('eric');
      const listener = await channel.addListener();
      await b.listen(0, '127.0.0.1');
      const base = `http://127.0.0.1:${(b.getHttpServer().address() as AddressInfo).port}/s`;
      const opened = await RawSseClient.open(`${base}/open/eric/${listener.id}`);
      expect(opened.status).toBe(200);
      await channel.dispatch(listener.id, new Message('first', 1));
      expect((await opened.waitForEvents(1))[0]).toMatchObject({ event: 'first', data: '1' });
      opened.close();

      const streams = b.get(EricSseStreams);
      await expect(streams.openEvents('eric', 'nope')).rejects.toBeInstanceOf(NotFoundException);
      await expect(streams.openEvents('nope', listener.id)).rejects.toBeInstanceOf(NotFoundException);
      await expect(firstValueFrom(streams.events('nope', 'x'))).rejects.toBeInstanceOf(NotFoundException);
      const second = await channel.addListener();
      const viaEvents = firstValueFrom(streams.events('eric', second.id).pipe(filter(isMessage)));
      await channel.dispatch(second.id, new Message('second', 2));
      expect(await viaEvents).toMatchObject({ type: 'second', data: '2' });
      for (const path of ['open/eric/nope', 'open/nope/x', 'pipe/eric/nope', 'pipe/nope/x']) {
        const missing = await fetch(`${base}/${path}`);
        expect({ path, status: missing.status }).toEqual({ path, status: 404 });
        expect(missing.headers.get('content-type')).toMatch(/^application\/json/);
        expect(await missing.json()).toMatchObject({ statusCode: 404, error: expect.stringMatching(/^Invalid/) });
      }
      // The app is still up after a made-up id on the fast path.
      expect(await (await fetch(`${base}/ping`)).text()).toBe('pong');
    });

    it('watches (watchEvents and openWatchEvents) a channel another instance made', async () => {
      const [a, b] = await twoApps();
      const streams = b.get(EricSseStreams);
      const fresh = a.get<RedisChannelRepository>(ERIC_SSE_CHANNEL_REPOSITORY).create({ channelId: 'made-on-a' });
      await a.get(ChannelContainer).add(fresh);
      expect(b.get(ChannelContainer).has('made-on-a')).toBe(false);
      // openWatchEvents registers its listener before it resolves: a broadcast right after reaches it.
      const opened = firstValueFrom((await streams.openWatchEvents('made-on-a')).pipe(filter(isMessage)));
      expect(await fresh.listListenerIds()).toHaveLength(1);
      await fresh.broadcast(new Message('seen', 'by both'));
      expect(await opened).toMatchObject({ type: 'seen', data: 'by both' });
      expect(await fresh.listListenerIds()).toEqual([]); // removed when firstValueFrom unsubscribed
      const watched = firstValueFrom(streams.watchEvents('made-on-a').pipe(filter(isMessage)));
      // watchEvents adds its listener on subscription, asynchronously on a channel held elsewhere.
      while ((await fresh.listListenerIds()).length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
      await fresh.broadcast(new Message('seen', 'by both'));
      expect(await watched).toMatchObject({ type: 'seen', data: 'by both' });
      await expect(streams.openWatchEvents('nope')).rejects.toBeInstanceOf(NotFoundException);
      await expect(firstValueFrom(streams.watchEvents('nope'))).rejects.toBeInstanceOf(NotFoundException);
    });

    it('answers 409 to a REST channel creation whose id another instance took', async () => {
      const options = { redis: redisServer.url, keyPrefix: uniquePrefix(), rest: {} };
      const a = await app(options);
      const b = await app(options);
      await request(a.getHttpServer()).post('/eric-sse/channels').send({ id: 'taken' }).expect(201);
      const conflict = await request(b.getHttpServer()).post('/eric-sse/channels').send({ id: 'taken' }).expect(409);
      expect(conflict.body).toMatchObject({ error: 'InvalidChannelException' });
      expect((await request(b.getHttpServer()).get('/eric-sse/channels').expect(200)).body.ids).toEqual([
        'eric',
        'taken',
      ]);
    });

    it('lets instances start at once on the same configured channels', async () => {
      const options = { redis: redisServer.url, keyPrefix: uniquePrefix(), channels: [{ id: 'news' }, { id: 'more' }] };
      const started = await Promise.all([1, 2, 3].map(() => app(options)));
      for (const one of started) expect(await one.get(ChannelContainer).listIds()).toEqual(['news', 'more', 'eric']);
    });

    it('registers an @OnMessage listener once, and each message runs on one instance', async () => {
      const [a, b] = await twoApps();
      expect(await a.get(ChannelContainer).get('eric').listListenerIds()).toEqual(['Echo']);
      const eric = b.get(ChannelContainer).get('eric');
      const caller = await eric.addListener();
      for (let i = 0; i < 10; i++) await b.get(EricSseMessenger).dispatchTo(caller.id, 'Echo', new Message('ping', i));
      caller.start();
      const pongs: unknown[] = [];
      for await (const event of eric.messageStream(caller) as AsyncIterable<{ data: unknown }>) {
        pongs.push(event.data);
        if (pongs.length === 10) caller.stop();
      }
      expect(pongs.sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(handled.sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });

    it('lets the messenger of one instance send on behalf of a listener another instance made', async () => {
      const [a, b] = await twoApps();
      const sender = await a.get(ChannelContainer).get('eric').addListener();
      await b.get(EricSseMessenger).dispatchTo(sender.id, 'Echo', new Message('ping', 'hi'), 'eric');
      const queue = (await a.get(ChannelContainer).get('eric').resolveConnection(sender.id)).queue;
      await new Promise<void>((resolve) => queue.onReady(resolve));
      expect(await queue.pop()).toEqual(new SignedMessage('Echo', 'pong', 'hi'));
      await expect(b.get(EricSseMessenger).dispatchTo('nobody', 'Echo', new Message('ping'), 'eric')).rejects.toThrow(
        /No listener with id nobody/,
      );
    });
  });
});
