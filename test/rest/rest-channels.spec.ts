import { afterEach, describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import supertest from 'supertest';
import {
  EricSseModule,
  InMemoryConnectionsFactory,
  SSEChannel,
  type AbstractChannel,
  type MessageQueueListener,
} from '../../src/index.js';
import { startRestApp, stopped, type RestApp } from './support.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('REST endpoints: channels and listeners', () => {
  let server: RestApp;

  afterEach(async () => {
    await server?.close();
  });

  async function start(...channels: string[]): Promise<RestApp> {
    server = await startRestApp({ module: { rest: {}, channels: channels.map((id) => ({ id })) } });
    return server;
  }

  describe('POST /channels', () => {
    it('creates an SSEChannel with a fresh id and default settings when there is no body', async () => {
      const { api, container } = await start();
      const response = await api.post('/channels').expect(201);
      expect(response.body).toEqual({ id: expect.stringMatching(UUID) });
      const channel = container.get(response.body.id);
      expect(channel).toBeInstanceOf(SSEChannel);
      expect(channel.streamDelaySeconds).toBe(0);
      expect((channel as SSEChannel).retryTimeoutMilliseconds).toBe(5);
    });

    it('creates a channel with the given id and settings, on the module connections factory', async () => {
      const connectionsFactory = new InMemoryConnectionsFactory();
      server = await startRestApp({ module: { rest: {}, connectionsFactory } });
      const response = await server.api
        .post('/channels')
        .send({ id: 'news', streamDelaySeconds: 0.5, retryTimeoutMilliseconds: 2000 })
        .expect(201);
      expect(response.body).toEqual({ id: 'news' });
      const channel = server.container.get('news') as SSEChannel;
      expect(channel.streamDelaySeconds).toBe(0.5);
      expect(channel.retryTimeoutMilliseconds).toBe(2000);
      expect(channel.connectionsFactory).toBe(connectionsFactory);
    });

    it('accepts an empty JSON object', async () => {
      const { api, container } = await start();
      const { body } = await api.post('/channels').send({}).expect(201);
      expect(container.has(body.id)).toBe(true);
    });

    it('answers 409 for an id already taken, leaving that channel as it was', async () => {
      const { api, container } = await start('news');
      const before = container.get('news');
      const response = await api.post('/channels').send({ id: 'news', streamDelaySeconds: 3 }).expect(409);
      expect(response.body).toEqual({
        statusCode: 409,
        error: 'InvalidChannelException',
        message: 'Channel news already exists',
      });
      expect(container.get('news')).toBe(before);
      expect(container.getAllIds()).toEqual(['news', 'eric']);
    });

    it.each([
      [{ streamDelaySeconds: -1 }, 'streamDelaySeconds must be a finite number >= 0, got -1'],
      [{ retryTimeoutMilliseconds: '5' }, 'retryTimeoutMilliseconds must be a finite number >= 0, got 5'],
      [{ streamDelaySeconds: null }, 'streamDelaySeconds must be a finite number >= 0, got null'],
      [{ id: '' }, 'id must be a non-empty string, got ""'],
      [{ id: 7 }, 'id must be a non-empty string, got 7'],
      [{ name: 'x' }, 'Unknown key "name" in the body (known: id, streamDelaySeconds, retryTimeoutMilliseconds)'],
      [
        ['news'],
        'The body must be a JSON object { id?, streamDelaySeconds?, retryTimeoutMilliseconds? }, got an array',
      ],
    ])('answers 400 naming the bad setting for %j, creating nothing', async (body, message) => {
      const { api, container } = await start();
      const response = await api
        .post('/channels')
        .send(body as object)
        .expect(400);
      expect(response.body).toEqual({ statusCode: 400, error: 'InvalidConfigurationException', message });
      expect(container.getAllIds()).toEqual(['eric']);
    });

    it('answers 400 for a JSON null body', async () => {
      const { api, container } = await start();
      const response = await api.post('/channels').set('content-type', 'application/json').send('null').expect(400);
      expect(response.body).toEqual({
        statusCode: 400,
        error: 'InvalidConfigurationException',
        message: 'The body must be a JSON object { id?, streamDelaySeconds?, retryTimeoutMilliseconds? }, got null',
      });
      expect(container.getAllIds()).toEqual(['eric']);
    });

    it('answers 400 for a body that is not JSON', async () => {
      const { api, container } = await start();
      const response = await api.post('/channels').set('content-type', 'application/json').send('{"id": ').expect(400);
      expect(response.body).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: expect.stringMatching(/^The request body is not valid JSON: /),
      });
      expect(container.getAllIds()).toEqual(['eric']);
    });
  });

  describe('GET /channels', () => {
    it('lists every channel id, in creation order', async () => {
      const { api } = await start('news', 'sport');
      await api.post('/channels').send({ id: 'weather' }).expect(201);
      const response = await api.get('/channels').expect(200);
      expect(response.body).toEqual({ ids: ['news', 'sport', 'eric', 'weather'] });
    });
  });

  describe('listeners', () => {
    it('subscribes: 201 with the id of a new, not yet running listener', async () => {
      const { api, container } = await start('news');
      const response = await api.post('/channels/news/listeners').expect(201);
      expect(response.body).toEqual({ id: expect.stringMatching(UUID) });
      const listener = container.get('news').getListener(response.body.id);
      expect(listener.isRunning()).toBe(false);
    });

    it('lists the listeners of a channel', async () => {
      const { api } = await start('news');
      expect((await api.get('/channels/news/listeners').expect(200)).body).toEqual({ ids: [] });
      const first = (await api.post('/channels/news/listeners').expect(201)).body.id;
      const second = (await api.post('/channels/news/listeners').expect(201)).body.id;
      expect((await api.get('/channels/news/listeners').expect(200)).body).toEqual({ ids: [first, second] });
    });

    it('removes a listener: 204, it is stopped and gone', async () => {
      const { api, container } = await start('news');
      const channel = container.get('news');
      const listener = await channel.addListener();
      listener.start();
      const response = await api.delete(`/channels/news/listeners/${listener.id}`).expect(204);
      expect(response.text).toBe('');
      expect(listener.isRunning()).toBe(false);
      expect(channel.hasListener(listener.id)).toBe(false);
    });

    it.each([
      ['get', '/channels/nope/listeners'],
      ['post', '/channels/nope/listeners'],
      ['delete', '/channels/nope/listeners/l1'],
    ] as const)('answers 404 naming InvalidChannelException for %s %s', async (method, path) => {
      const { api, container } = await start('news');
      const response = await api[method](path).expect(404);
      expect(response.body).toEqual({
        statusCode: 404,
        error: 'InvalidChannelException',
        message: 'No channel with id nope',
      });
      expect(container.getAllIds()).toEqual(['news', 'eric']);
    });

    it('answers 404 naming InvalidListenerException when removing an unknown listener', async () => {
      const { api, container } = await start('news');
      const kept = await container.get('news').addListener();
      const response = await api.delete('/channels/news/listeners/ghost').expect(404);
      expect(response.body).toEqual({
        statusCode: 404,
        error: 'InvalidListenerException',
        message: 'No listener with id ghost in channel news',
      });
      expect(
        container
          .get('news')
          .getConnections()
          .map((c) => c.listener),
      ).toEqual([kept]);
    });

    it('takes ids that need URL encoding', async () => {
      const { api, container } = await start();
      await api.post('/channels').send({ id: 'a/b c' }).expect(201);
      const { body } = await api.post(`/channels/${encodeURIComponent('a/b c')}/listeners`).expect(201);
      expect(container.get('a/b c').hasListener(body.id)).toBe(true);
    });
  });

  describe('DELETE /channels/:channelId', () => {
    it('stops and removes every listener, then the channel: 204', async () => {
      const { api, container } = await start('news', 'sport');
      const channel: AbstractChannel = container.get('news');
      const listeners: MessageQueueListener[] = [await channel.addListener(), await channel.addListener()];
      for (const listener of listeners) listener.start();
      const allStopped = Promise.all(listeners.map(stopped));
      await api.delete('/channels/news').expect(204);
      await allStopped;
      expect(container.has('news')).toBe(false);
      expect(channel.getConnections()).toEqual([]);
      expect((await api.get('/channels').expect(200)).body).toEqual({ ids: ['sport', 'eric'] });
    });

    it('answers 404 for an unknown channel', async () => {
      const { api, container } = await start('news');
      const response = await api.delete('/channels/nope').expect(404);
      expect(response.body).toEqual({
        statusCode: 404,
        error: 'InvalidChannelException',
        message: 'No channel with id nope',
      });
      expect(container.getAllIds()).toEqual(['news', 'eric']);
    });
  });
});

describe('REST endpoints: mounting', () => {
  let server: RestApp | undefined;

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('are off unless `rest` is given', async () => {
    server = await startRestApp({ module: {} });
    const response = await server.api.get('/channels').expect(404);
    expect(response.body).toMatchObject({ statusCode: 404, message: 'Cannot GET /eric-sse/channels' });
  });

  it('mount at rest.path, under the global prefix', async () => {
    server = await startRestApp({
      module: { rest: { path: '/admin/sse/' } },
      configure: (app) => app.setGlobalPrefix('api'),
      basePath: '/api/admin/sse',
    });
    expect((await server.api.get('/channels').expect(200)).body).toEqual({ ids: ['eric'] });
    await server.api.post('/channels').send({ id: 'news' }).expect(201);
    expect(server.container.has('news')).toBe(true);
  });

  it('mount with forRootAsync too', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        EricSseModule.forRootAsync({ rest: { path: 'async' }, useFactory: () => ({ channels: [{ id: 'n' }] }) }),
      ],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      const response = await supertest(app.getHttpServer()).get('/async/channels').expect(200);
      expect(response.body).toEqual({ ids: ['n', 'eric'] });
    } finally {
      await app.close();
    }
  });
});
