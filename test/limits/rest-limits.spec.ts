import { afterEach, describe, expect, it } from '@jest/globals';
import {
  ERIC_SSE_CONNECTIONS_FACTORY,
  IdleListenerReaper,
  InMemoryConnectionsFactory,
  type EricSseLimitsOptions,
  type ListenerRef,
} from '../../src/index.js';
import { queued, SseClient, startRestApp, type RestApp } from '../rest/support.js';
import { types } from './support.js';

let app: RestApp | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function restApp(limits: EricSseLimitsOptions): Promise<RestApp> {
  app = await startRestApp({ module: { rest: {}, limits } });
  return app;
}

async function channelWithListeners(api: RestApp['api'], count: number): Promise<{ channel: string; ids: string[] }> {
  const channel = (await api.post('/channels').expect(201)).body.id as string;
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await api.post(`/channels/${channel}/listeners`).expect(201)).body.id);
  return { channel, ids };
}

describe('REST answers to limits', () => {
  it('a full queue with overflow reject: 429 QueueFullException for dispatch and broadcast, queues unchanged', async () => {
    const { api, container } = await restApp({ maxQueueSize: 2, queueOverflow: 'reject' });
    const { channel, ids } = await channelWithListeners(api, 2);
    const [full, roomy] = ids;
    for (const type of ['a', 'b']) {
      await api.post(`/channels/${channel}/listeners/${full}/messages`).send({ type }).expect(202);
    }
    const dispatched = await api.post(`/channels/${channel}/listeners/${full}/messages`).send({ type: 'c' });
    expect(dispatched.status).toBe(429);
    expect(dispatched.headers['content-type']).toMatch(/^application\/json/);
    expect(dispatched.body).toEqual({
      statusCode: 429,
      error: 'QueueFullException',
      message: `The queue of listener ${full} is full in channel ${channel} (overflow 'reject'): nothing was queued`,
    });
    const broadcast = await api.post(`/channels/${channel}/broadcast`).send({ type: 'all' });
    expect(broadcast.status).toBe(429);
    expect(broadcast.body.error).toBe('QueueFullException');
    expect(broadcast.body.message).toContain(full);
    expect(types(queued(container, channel, full))).toEqual(['a', 'b']);
    expect(types(queued(container, channel, roomy))).toEqual([]); // all or nothing
  });

  it('a full queue with drop-oldest (the default policy) accepts and keeps the newest', async () => {
    const { api, container } = await restApp({ maxQueueSize: 3 });
    const { channel, ids } = await channelWithListeners(api, 1);
    for (let i = 1; i <= 6; i++) {
      await api
        .post(`/channels/${channel}/broadcast`)
        .send({ type: `m${i}` })
        .expect(202, { status: 'ack', listeners: 1 });
    }
    expect(types(queued(container, channel, ids[0]))).toEqual(['m4', 'm5', 'm6']);
  });

  it('a listener past maxListenersPerChannel: 409 TooManyListenersException, for subscribe and watch', async () => {
    const { api } = await restApp({ maxListenersPerChannel: 2 });
    const { channel, ids } = await channelWithListeners(api, 2);
    const refused = await api.post(`/channels/${channel}/listeners`);
    expect(refused.status).toBe(409);
    expect(refused.body).toEqual({
      statusCode: 409,
      error: 'TooManyListenersException',
      message: `Cannot add a listener to channel ${channel}: maxListeners (2) reached`,
    });
    const watch = await SseClient.open(`${app?.baseUrl}/channels/${channel}/watch`);
    expect(watch.status).toBe(409);
    expect(await watch.json()).toMatchObject({ statusCode: 409, error: 'TooManyListenersException' });
    await api.get(`/channels/${channel}/listeners`).expect(200, { ids });
  });

  it('a channel past maxChannels (the @OnMessage channel counts): 409 TooManyChannelsException', async () => {
    const { api } = await restApp({ maxChannels: 2 });
    await api.post('/channels').send({ id: 'first' }).expect(201);
    const refused = await api.post('/channels').send({ id: 'second' });
    expect(refused.status).toBe(409);
    expect(refused.body).toEqual({
      statusCode: 409,
      error: 'TooManyChannelsException',
      message: 'Cannot add a channel: maxChannels (2) reached',
    });
    await api.get('/channels').expect(200, { ids: ['eric', 'first'] });
    await api.delete('/channels/first').expect(204);
    await api.post('/channels').send({ id: 'second' }).expect(201);
  });

  it('a payload past maxPayloadBytes: 413 MessageTooLargeException, nothing queued', async () => {
    const { api, container } = await restApp({ maxPayloadBytes: 16 });
    const { channel, ids } = await channelWithListeners(api, 1);
    const payload = { text: 'more than sixteen' }; // {"text":"more than sixteen"}: 28 bytes
    for (const url of [`/channels/${channel}/broadcast`, `/channels/${channel}/listeners/${ids[0]}/messages`]) {
      const refused = await api.post(url).send({ type: 'big', payload });
      expect(refused.status).toBe(413);
      expect(refused.body).toEqual({
        statusCode: 413,
        error: 'MessageTooLargeException',
        message: `The payload of message 'big' is 28 bytes as JSON, over maxPayloadBytes (16) of channel ${channel}`,
      });
    }
    await api.post(`/channels/${channel}/broadcast`).send({ type: 'small', payload: 'sixteen bytes!' }).expect(202);
    expect(types(queued(container, channel, ids[0]))).toEqual(['small']);
  });

  it('by default bounds queues at 10,000 messages, dropping the oldest, and nothing else', async () => {
    const { app: nest } = await restApp({});
    const factory = nest.get<InMemoryConnectionsFactory>(ERIC_SSE_CONNECTIONS_FACTORY);
    expect(factory.limits).toEqual({ maxSize: 10_000, overflow: 'drop-oldest' });
    expect(nest.get(IdleListenerReaper).enabled).toBe(false);
  });
});

describe('idle listeners through the module', () => {
  it('removes a listener nobody streams, keeps one being streamed, and removes that one after its client left', async () => {
    const { api, app: nest, baseUrl } = await restApp({ idleListenerTimeoutMilliseconds: 300 });
    const { channel, ids } = await channelWithListeners(api, 2);
    const [idle, streamed] = ids;
    const reaper = nest.get(IdleListenerReaper);
    expect(reaper.sweepIntervalMilliseconds).toBe(150);
    const reaped: ListenerRef[] = [];
    const firstReaped = new Promise<void>((resolve) =>
      reaper.onReaped((listener) => {
        reaped.push(listener);
        resolve();
      }),
    );
    const client = await SseClient.open(`${baseUrl}/channels/${channel}/listeners/${streamed}/stream`);
    expect(client.status).toBe(200);
    await firstReaped;
    expect(reaped).toEqual([{ channelId: channel, listenerId: idle }]);
    await api.get(`/channels/${channel}/listeners`).expect(200, { ids: [streamed] });
    await api.post(`/channels/${channel}/listeners/${idle}/messages`).send({ type: 'late' }).expect(404);

    const secondReaped = new Promise<ListenerRef>((resolve) => reaper.onReaped(resolve));
    await api.post(`/channels/${channel}/broadcast`).send({ type: 'live' }).expect(202);
    await client.waitForEvents(1);
    client.close();
    await expect(secondReaped).resolves.toEqual({ channelId: channel, listenerId: streamed });
    await api.get(`/channels/${channel}/listeners`).expect(200, { ids: [] });
  });
});
