import { afterEach, describe, expect, it } from '@jest/globals';
import { EventSource } from 'eventsource';
import { queued, SseClient, startRestApp, stopped, type RestApp } from './support.js';

describe('REST endpoints: streams', () => {
  let server: RestApp;

  afterEach(async () => {
    await server?.close();
  });

  async function start(): Promise<RestApp> {
    server = await startRestApp({ module: { rest: {}, channels: [{ id: 'news' }] } });
    return server;
  }

  async function subscribe(channelId = 'news'): Promise<string> {
    return (await server.api.post(`/channels/${channelId}/listeners`).expect(201)).body.id;
  }

  it('streams a listener to an EventSource: a broadcast arrives as an event', async () => {
    const { api, baseUrl } = await start();
    const listener = await subscribe();
    const source = new EventSource(`${baseUrl}/channels/news/listeners/${listener}/stream`);
    try {
      const received = new Promise<MessageEvent>((resolve) => source.addEventListener('headline', resolve));
      await new Promise((resolve) => (source.onopen = resolve));
      await api
        .post('/channels/news/broadcast')
        .send({ type: 'headline', payload: { title: 'Hi' } })
        .expect(202);
      expect(JSON.parse((await received).data as string)).toEqual({ title: 'Hi' });
    } finally {
      source.close();
    }
  });

  it('answers with the SSE headers and delivers a dispatch; the client leaving stops the listener', async () => {
    const { api, baseUrl, container } = await start();
    const listener = await subscribe();
    const url = `${baseUrl}/channels/news/listeners/${listener}/stream`;
    const client = await SseClient.open(url);
    expect(client.status).toBe(200);
    expect(client.headers).toMatchObject({
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    });
    await api.post(`/channels/news/listeners/${listener}/messages`).send({ type: 'dm', payload: 'one' }).expect(202);
    expect(await client.waitForEvents(1)).toEqual([{ event: 'dm', data: 'one' }]);

    const gone = stopped(container.get('news').getListener(listener));
    client.close();
    await gone;
    await api.post(`/channels/news/listeners/${listener}/messages`).send({ type: 'dm', payload: 'two' }).expect(202);
    expect(queued(container, 'news', listener)).toHaveLength(1);
    const again = await SseClient.open(url);
    expect(await again.waitForEvents(1)).toEqual([{ event: 'dm', data: 'two' }]);
    again.close();
  });

  it('DELETE of the listener ends its stream', async () => {
    const { api, baseUrl, container } = await start();
    const listener = await subscribe();
    const client = await SseClient.open(`${baseUrl}/channels/news/listeners/${listener}/stream`);
    await api.delete(`/channels/news/listeners/${listener}`).expect(204);
    await client.ended;
    expect(container.get('news').hasListener(listener)).toBe(false);
  });

  it('watch: a fresh listener for the connection, listed while open and removed when the client closes', async () => {
    const { api, baseUrl, container } = await start();
    const kept = await subscribe();
    const client = await SseClient.open(`${baseUrl}/channels/news/watch`);
    expect(client.status).toBe(200);
    expect(client.headers['content-type']).toBe('text/event-stream');
    const { ids } = (await api.get('/channels/news/listeners').expect(200)).body;
    expect(ids).toHaveLength(2);
    const watcher = ids.find((id: string) => id !== kept);
    expect(container.get('news').getListener(watcher).isRunning()).toBe(true);

    await api.post('/channels/news/broadcast').send({ type: 'headline', payload: 'all' }).expect(202);
    expect(await client.waitForEvents(1)).toEqual([{ event: 'headline', data: 'all' }]);

    const gone = stopped(container.get('news').getListener(watcher));
    client.close();
    await gone;
    expect((await api.get('/channels/news/listeners').expect(200)).body).toEqual({ ids: [kept] });
  });

  it('DELETE of the channel ends every stream and watch on it', async () => {
    const { api, baseUrl, container } = await start();
    const listener = await subscribe();
    const stream = await SseClient.open(`${baseUrl}/channels/news/listeners/${listener}/stream`);
    const watch = await SseClient.open(`${baseUrl}/channels/news/watch`);
    await api.delete('/channels/news').expect(204);
    await Promise.all([stream.ended, watch.ended]);
    expect(container.has('news')).toBe(false);
    expect((await api.get('/channels/news/listeners').expect(404)).body.error).toBe('InvalidChannelException');
  });

  it.each([
    ['/channels/nope/listeners/x/stream', 'InvalidChannelException', 'No channel with id nope'],
    ['/channels/news/listeners/ghost/stream', 'InvalidListenerException', 'No listener with id ghost in channel news'],
    ['/channels/nope/watch', 'InvalidChannelException', 'No channel with id nope'],
  ])('answers 404 JSON, not a stream, for %s', async (path, error, message) => {
    const { baseUrl, container } = await start();
    const client = await SseClient.open(baseUrl + path);
    expect(client.status).toBe(404);
    expect(client.headers['content-type']).toMatch(/^application\/json/);
    expect(await client.json()).toEqual({ statusCode: 404, error, message });
    expect(container.get('news').getConnections()).toEqual([]);
  });
});
