import { afterEach, describe, expect, it } from '@jest/globals';
import { request } from 'node:http';
import { Message, type MessageContract } from '../../src/index.js';
import { startNewsApp, type NewsApp, type RestApp, type RestAppOptions } from './support.js';

/** A POST with these headers (an array: the header sent once per value). */
function postWithHeaders(
  url: string,
  headers: Record<string, string | string[]>,
  body: string,
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('REST endpoints: Idempotency-Key', () => {
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

  it('answers a retried broadcast as the first (202, same count), marked Idempotent-Replayed, queueing once', async () => {
    const { api } = await start();
    const once = await api.post('/channels/news/broadcast').set('Idempotency-Key', 'b-1').send({ type: 'headline' });
    expect(once.status).toBe(202);
    expect(once.body).toEqual({ status: 'ack', listeners: 2 });
    expect(once.headers['idempotent-replayed']).toBeUndefined();
    await server.container.get('news').addListener();
    const again = await api.post('/channels/news/broadcast').set('Idempotency-Key', 'b-1').send({ type: 'headline' });
    expect(again.status).toBe(202);
    expect(again.body).toEqual({ status: 'ack', listeners: 2 });
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(queues()).toEqual([[new Message('headline')], [new Message('headline')]]);
  });

  it('answers a retried dispatch as the first (202 { status: ack }), queueing once', async () => {
    const { api } = await start();
    for (let i = 0; i < 3; i++) {
      const response = await api
        .post(`/channels/news/listeners/${first}/messages`)
        .set('Idempotency-Key', 'd-1')
        .send({ type: 'note', payload: 1 });
      expect(response.status).toBe(202);
      expect(response.body).toEqual({ status: 'ack' });
      expect(response.headers['idempotent-replayed']).toBe(i === 0 ? undefined : 'true');
    }
    expect(queues()).toEqual([[new Message('note', 1)], []]);
  });

  it('delivers requests with different keys, and requests without one, every time', async () => {
    const { api } = await start();
    await api.post('/channels/news/broadcast').set('Idempotency-Key', 'k1').send({ type: 'a' }).expect(202);
    await api.post('/channels/news/broadcast').set('Idempotency-Key', 'k2').send({ type: 'a' }).expect(202);
    await api.post('/channels/news/broadcast').send({ type: 'a' }).expect(202);
    await api.post('/channels/news/broadcast').send({ type: 'a' }).expect(202);
    expect(queues().map((queue) => queue.length)).toEqual([4, 4]);
  });

  it.each<[string, string, string]>([
    ['an empty key', '', 'An idempotency key must not be empty'],
    ['a key over 256 bytes', 'k'.repeat(257), 'An idempotency key must be at most 256 bytes (UTF-8), got "kkkk'],
    ['a key with a tab', 'a\tb', 'An idempotency key must not hold control characters or lone surrogates, got "a\\tb"'],
  ])('answers %s 400 InvalidMessageFormat, queueing nothing', async (_case, key, message) => {
    const { api } = await start();
    for (const path of ['/channels/news/broadcast', `/channels/news/listeners/${first}/messages`]) {
      const response = await api.post(path).set('Idempotency-Key', key).send({ type: 'x' });
      expect(response.status).toBe(400);
      expect(response.body).toEqual({ statusCode: 400, error: 'InvalidMessageFormat', message: expect.any(String) });
      expect(response.body.message).toContain(message);
      expect(response.body.message.length).toBeLessThan(200);
    }
    expect(queues()).toEqual([[], []]);
  });

  it('answers two Idempotency-Key headers 400 InvalidMessageFormat, queueing nothing', async () => {
    await start();
    const headers = { 'Idempotency-Key': ['a', 'a'] };
    for (const path of ['/channels/news/broadcast', `/channels/news/listeners/${first}/messages`]) {
      expect(await postWithHeaders(server.baseUrl + path, headers, '{"type":"x"}')).toEqual({
        status: 400,
        body: { statusCode: 400, error: 'InvalidMessageFormat', message: 'Send one Idempotency-Key header, got 2' },
      });
    }
    expect(queues()).toEqual([[], []]);
  });

  it('keeps 404 ahead of a bad key, and a bad body is still a 400 with a good key', async () => {
    const { api } = await start();
    const unknownChannel = await api.post('/channels/nope/broadcast').set('Idempotency-Key', '').send({ type: 'x' });
    expect(unknownChannel.status).toBe(404);
    const unknownListener = await api
      .post('/channels/news/listeners/nobody/messages')
      .set('Idempotency-Key', '')
      .send({ type: 'x' });
    expect(unknownListener.status).toBe(404);
    expect(unknownListener.body.error).toBe('InvalidListenerException');
    const fresh = await api
      .post('/channels/news/listeners/nobody/messages')
      .set('Idempotency-Key', 'never-seen')
      .send({ type: 'x' });
    expect(fresh.status).toBe(404);
    const badBody = await api.post('/channels/news/broadcast').set('Idempotency-Key', 'k').send({ kind: 'x' });
    expect(badBody.status).toBe(400);
    await api.post('/channels/news/broadcast').set('Idempotency-Key', 'k').send({ type: 'x' }).expect(202);
    expect(queues()).toEqual([[new Message('x')], [new Message('x')]]);
  });

  it('answers the retry of a dispatch as the first even once its listener has left', async () => {
    const { api } = await start();
    const path = `/channels/news/listeners/${first}/messages`;
    await api.post(path).set('Idempotency-Key', 'd').send({ type: 'x' }).expect(202);
    await api.delete(`/channels/news/listeners/${first}`).expect(204);
    const again = await api.post(path).set('Idempotency-Key', 'd').send({ type: 'x' });
    expect(again.status).toBe(202);
    expect(again.body).toEqual({ status: 'ack' });
    expect(again.headers['idempotent-replayed']).toBe('true');
    await api.post(path).send({ type: 'x' }).expect(404);
    await api.post(path).set('Idempotency-Key', 'other').send({ type: 'x' }).expect(404);
  });

  it('does not record the key of a request refused as too large (413) or a full queue (429): the retry publishes', async () => {
    const { api } = await start({
      module: {
        rest: {},
        channels: [{ id: 'news' }],
        limits: { maxPayloadBytes: 10, maxQueueSize: 1, queueOverflow: 'reject' },
      },
    });
    const big = { type: 'big', payload: 'x'.repeat(20) };
    await api.post('/channels/news/broadcast').set('Idempotency-Key', 'large').send(big).expect(413);
    await api.post('/channels/news/broadcast').set('Idempotency-Key', 'large').send({ type: 'small' }).expect(202);
    expect(queues()).toEqual([[new Message('small')], [new Message('small')]]);
    const path = `/channels/news/listeners/${first}/messages`;
    await api.post(path).set('Idempotency-Key', 'full').send({ type: 'again' }).expect(429);
    await api.post('/channels/news/broadcast').set('Idempotency-Key', 'full-b').send({ type: 'b' }).expect(429);
    await server.container.get('news').getConnection(first).queue.pop();
    await server.container.get('news').getConnection(second).queue.pop();
    const retried = await api.post(path).set('Idempotency-Key', 'full').send({ type: 'again' });
    expect(retried.status).toBe(202);
    expect(retried.headers['idempotent-replayed']).toBeUndefined();
    expect(queues()).toEqual([[new Message('again')], []]);
  });

  it('remembers keys for the module option idempotency.windowMilliseconds', async () => {
    const { api } = await start({
      module: { rest: {}, channels: [{ id: 'news' }], idempotency: { windowMilliseconds: 40 } },
    });
    await api.post('/channels/news/broadcast').set('Idempotency-Key', 'k').send({ type: 'x' }).expect(202);
    await api.post('/channels/news/broadcast').set('Idempotency-Key', 'k').send({ type: 'x' }).expect(202);
    expect(queues()).toEqual([[new Message('x')], [new Message('x')]]);
    await new Promise((resolve) => setTimeout(resolve, 60));
    await api.post('/channels/news/broadcast').set('Idempotency-Key', 'k').send({ type: 'x' }).expect(202);
    expect(queues().map((queue) => queue.length)).toEqual([2, 2]);
  });
});
