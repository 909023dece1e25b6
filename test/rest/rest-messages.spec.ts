import { afterEach, describe, expect, it } from '@jest/globals';
import { Body, Controller, Post } from '@nestjs/common';
import { gzipSync } from 'node:zlib';
import supertest from 'supertest';
import {
  Connection,
  InMemoryQueue,
  Message,
  MessageQueueListener,
  type ConnectionsFactory,
  type MessageContract,
} from '../../src/index.js';
import { RecordingLogger } from '../nest/support.js';
import {
  postChunked,
  queued,
  startNewsApp,
  startRestApp,
  type NewsApp,
  type RestApp,
  type RestAppOptions,
} from './support.js';

@Controller('echo')
class EchoController {
  @Post()
  echo(@Body() body: unknown) {
    return { body };
  }
}

describe('REST endpoints: broadcast and dispatch', () => {
  let server: RestApp;
  let news: NewsApp;
  let first: string;
  let second: string;

  afterEach(async () => {
    await server?.close();
  });

  async function start(options: RestAppOptions = {}): Promise<NewsApp> {
    server = news = await startNewsApp(options);
    ({ first, second } = news);
    return news;
  }

  function queues(): MessageContract[][] {
    return news.queues();
  }

  it('broadcast queues the message for every listener: 202 { status: ack, listeners }', async () => {
    const { api } = await start();
    const response = await api.post('/channels/news/broadcast').send({ type: 'headline', payload: { n: 1 } });
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ status: 'ack', listeners: 2 });
    expect(queues()).toEqual([[new Message('headline', { n: 1 })], [new Message('headline', { n: 1 })]]);
  });

  it('broadcast without a payload queues a message without one', async () => {
    const { api } = await start();
    await api.post('/channels/news/broadcast').send({ type: 'ping' }).expect(202);
    expect(queues()).toEqual([[new Message('ping')], [new Message('ping')]]);
  });

  it('dispatch queues the message for that listener only: 202 { status: ack }', async () => {
    const { api } = await start();
    const response = await api
      .post(`/channels/news/listeners/${second}/messages`)
      .send({ type: 'dm', payload: 'hi' })
      .expect(202);
    expect(response.body).toEqual({ status: 'ack' });
    expect(queues()).toEqual([[], [new Message('dm', 'hi')]]);
  });

  it('reads the body as JSON whatever its Content-Type', async () => {
    const { api } = await start();
    await api
      .post('/channels/news/broadcast')
      .set('content-type', 'text/plain')
      .send('{"type":"plain","payload":[1,"two",null]}')
      .expect(202);
    await api
      .post(`/channels/news/listeners/${first}/messages`)
      .set('content-type', 'application/x-www-form-urlencoded')
      .send('{"type":"form"}')
      .expect(202);
    expect(queues()).toEqual([
      [new Message('plain', [1, 'two', null]), new Message('form')],
      [new Message('plain', [1, 'two', null])],
    ]);
  });

  it('reads a chunked body without Content-Length', async () => {
    await start();
    const response = await postChunked(`${server.baseUrl}/channels/news/broadcast`, ['{"type":', '"chunked"}']);
    expect(response).toEqual({ status: 202, body: { status: 'ack', listeners: 2 } });
    expect(queues()[0]).toEqual([new Message('chunked')]);
  });

  describe('unknown ids: 404, nothing queued', () => {
    it.each([
      [
        'broadcast to an unknown channel',
        '/channels/nope/broadcast',
        'InvalidChannelException',
        'No channel with id nope',
      ],
      [
        'dispatch on an unknown channel',
        '/channels/nope/listeners/x/messages',
        'InvalidChannelException',
        'No channel with id nope',
      ],
      [
        'dispatch to an unknown listener',
        '/channels/news/listeners/ghost/messages',
        'InvalidListenerException',
        'No listener with id ghost in channel news',
      ],
    ])('%s', async (_case, path, error, message) => {
      const { api } = await start();
      const response = await api.post(path).send({ type: 't' }).expect(404);
      expect(response.body).toEqual({ statusCode: 404, error, message });
      expect(queues()).toEqual([[], []]);
    });
  });

  describe('bad bodies: 400 with a JSON body, nothing queued', () => {
    const shapes: [string, string, string][] = [
      ['', 'InvalidMessageFormat', 'The body must be a JSON object { type, payload? }, got no body'],
      ['[]', 'InvalidMessageFormat', 'The body must be a JSON object { type, payload? }, got an array'],
      ['"hello"', 'InvalidMessageFormat', 'The body must be a JSON object { type, payload? }, got "hello"'],
      ['null', 'InvalidMessageFormat', 'The body must be a JSON object { type, payload? }, got null'],
      ['{}', 'InvalidMessageFormat', 'type must be a non-empty string, got nothing'],
      ['{"payload":1}', 'InvalidMessageFormat', 'type must be a non-empty string, got nothing'],
      ['{"type":""}', 'InvalidMessageFormat', 'type must be a non-empty string, got ""'],
      ['{"type":42}', 'InvalidMessageFormat', 'type must be a non-empty string, got 42'],
      ['{"type":["a"]}', 'InvalidMessageFormat', 'type must be a non-empty string, got an array'],
      [
        `{"type":{"text":"${'t'.repeat(100)}"}}`,
        'InvalidMessageFormat',
        `type must be a non-empty string, got {"text":"${'t'.repeat(48)}...`,
      ],
      ['{"type":"t","paylod":1}', 'InvalidMessageFormat', 'Unknown key "paylod" in the body (known: type, payload)'],
      [
        '{"type":"t","payload":{"deep":[1,2,1e999]}}',
        'InvalidMessageFormat',
        'payload is not JSON-representable: it holds a number out of range',
      ],
      ['{"type": "t"', 'Bad Request', 'The request body is not valid JSON: '],
      ['type=t&payload=1', 'Bad Request', 'The request body is not valid JSON: '],
    ];

    it.each(shapes)('broadcast %j', async (body, error, message) => {
      const { api } = await start();
      const response = await api
        .post('/channels/news/broadcast')
        .set('content-type', 'application/json')
        .send(body)
        .expect(400);
      expect(response.body).toEqual({ statusCode: 400, error, message: expect.stringContaining(message) });
      expect(queues()).toEqual([[], []]);
    });

    it.each(shapes)('dispatch %j', async (body, error, message) => {
      const { api } = await start();
      const response = await api
        .post(`/channels/news/listeners/${first}/messages`)
        .set('content-type', 'application/json')
        .send(body)
        .expect(400);
      expect(response.body).toEqual({ statusCode: 400, error, message: expect.stringContaining(message) });
      expect(queues()).toEqual([[], []]);
    });

    it('a body that is not UTF-8', async () => {
      const { api } = await start();
      const response = await api
        .post('/channels/news/broadcast')
        .set('content-type', 'application/octet-stream')
        .send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))
        .expect(400);
      expect(response.body).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: 'The request body is not valid UTF-8',
      });
      expect(queues()).toEqual([[], []]);
    });

    it('a compressed body: 415', async () => {
      const { api } = await start();
      const response = await api
        .post('/channels/news/broadcast')
        .set('content-type', 'application/octet-stream')
        .set('content-encoding', 'gzip')
        .send(gzipSync('{"type":"t"}'))
        .expect(415);
      expect(response.body).toEqual({
        statusCode: 415,
        error: 'Unsupported Media Type',
        message: 'Content-Encoding gzip is not supported: send the JSON body uncompressed',
      });
      expect(queues()).toEqual([[], []]);
    });
  });

  it('answers 500 with a generic JSON body, and logs it, when the queue fails', async () => {
    class FailingQueue extends InMemoryQueue {
      override push(): Promise<void> {
        return Promise.reject(new Error('disk on fire'));
      }
    }
    class FailingConnectionsFactory implements ConnectionsFactory {
      create(listener = new MessageQueueListener()): Connection {
        return new Connection(listener, new FailingQueue());
      }
    }
    const logger = new RecordingLogger();
    server = await startRestApp({
      module: {
        rest: {},
        channels: [{ id: 'news' }],
        connectionsFactory: new FailingConnectionsFactory(),
      },
      logger,
    });
    const { id } = (await server.api.post('/channels/news/listeners').expect(201)).body;
    const response = await server.api.post(`/channels/news/listeners/${id}/messages`).send({ type: 't' }).expect(500);
    expect(response.body).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'Internal server error',
    });
    expect(logger.lines).toContainEqual({ level: 'error', message: 'REST endpoint failed: Error: disk on fire' });
  });
});

describe('REST endpoints: body size limit', () => {
  let server: RestApp;

  afterEach(async () => {
    await server?.close();
  });

  /** A message body of exactly `size` bytes. */
  function bodyOf(size: number): string {
    const frame = '{"type":"big","payload":""}';
    return frame.replace('""', `"${'x'.repeat(size - frame.length)}"`);
  }

  async function start(options: RestAppOptions = {}): Promise<string> {
    server = await startRestApp({ module: { rest: {}, channels: [{ id: 'news' }] }, ...options });
    return (await server.container.get('news').addListener()).id;
  }

  const tooLarge = (limit: number) => ({
    statusCode: 413,
    error: 'Payload Too Large',
    message: `The request body is larger than ${limit} bytes (rest.bodyLimit)`,
  });

  it('accepts a body of exactly 64 KiB by default', async () => {
    const listener = await start();
    await server.api
      .post('/channels/news/broadcast')
      .set('content-type', 'application/json')
      .send(bodyOf(65536))
      .expect(202);
    expect(queued(server.container, 'news', listener)).toHaveLength(1);
  });

  it.each([
    ['one byte over 64 KiB', 65537],
    ['between 64 KiB and the 100 kB of the default JSON parser', 90_000],
    ['over the 100 kB of the default JSON parser', 150_000],
    ['far over everything', 3_000_000],
  ])('answers 413 from us, queueing nothing, for a body %s', async (_case, size) => {
    const listener = await start();
    for (const path of ['/channels/news/broadcast', `/channels/news/listeners/${listener}/messages`]) {
      const response = await server.api.post(path).set('content-type', 'application/json').send(bodyOf(size));
      expect(response.status).toBe(413);
      expect(response.body).toEqual(tooLarge(65536));
    }
    expect(queued(server.container, 'news', listener)).toEqual([]);
  });

  it('answers 413 to POST /channels, creating nothing', async () => {
    await start();
    const body = JSON.stringify({ id: 'x'.repeat(70_000) });
    const response = await server.api.post('/channels').set('content-type', 'application/json').send(body).expect(413);
    expect(response.body).toEqual(tooLarge(65536));
    expect(server.container.getAllIds()).toEqual(['news', 'eric']);
  });

  it('counts the bytes of a chunked body as they arrive', async () => {
    const listener = await start();
    const chunks = ['{"type":"big","payload":"', ...Array(10).fill('y'.repeat(10_000)), '"}'];
    const response = await postChunked(`${server.baseUrl}/channels/news/broadcast`, chunks);
    expect(response).toEqual({ status: 413, body: tooLarge(65536) });
    expect(queued(server.container, 'news', listener)).toEqual([]);
  });

  it('holds rest.bodyLimit', async () => {
    const listener = await start({ module: { rest: { bodyLimit: 100 }, channels: [{ id: 'news' }] } });
    const path = '/channels/news/broadcast';
    await server.api.post(path).set('content-type', 'application/json').send(bodyOf(100)).expect(202);
    const response = await server.api.post(path).set('content-type', 'application/json').send(bodyOf(101));
    expect(response.status).toBe(413);
    expect(response.body).toEqual(tooLarge(100));
    expect(queued(server.container, 'news', listener)).toHaveLength(1);
  });

  it('holds whatever JSON parser the app configures', async () => {
    const listener = await start({ configure: (app) => app.useBodyParser('json', { limit: '10mb' }) });
    const response = await server.api
      .post('/channels/news/broadcast')
      .set('content-type', 'application/json')
      .send(bodyOf(500_000));
    expect(response.status).toBe(413);
    expect(response.body).toEqual(tooLarge(65536));
    expect(queued(server.container, 'news', listener)).toEqual([]);
  });

  it('works without any body parser, and under a global prefix', async () => {
    const listener = await start({
      bodyParser: false,
      configure: (app) => app.setGlobalPrefix('api'),
      basePath: '/api/eric-sse',
    });
    const path = '/channels/news/broadcast';
    await server.api.post(path).send({ type: 'small' }).expect(202);
    const response = await server.api.post(path).set('content-type', 'application/json').send(bodyOf(80_000));
    expect(response.status).toBe(413);
    expect(response.body).toEqual(tooLarge(65536));
    expect(queued(server.container, 'news', listener)).toEqual([new Message('small')]);
  });

  it('leaves the app’s own routes to the app’s body parser', async () => {
    await start({ metadata: { controllers: [EchoController] } });
    const big = { text: 'z'.repeat(80_000) };
    const response = await supertest(server.origin).post('/echo').send(big);
    expect(response.status).toBe(201);
    expect(response.body).toEqual({ body: big });
  });
});
