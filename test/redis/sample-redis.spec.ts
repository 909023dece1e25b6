import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { connectRedisBackend } from '../../src/index.js';
import { RedisServer, describeWithRedis } from './redis-server.js';

describeWithRedis('the sample with REDIS_URL', () => {
  let server: RedisServer;
  let app: INestApplication;
  const saved = { REDIS_URL: process.env.REDIS_URL, PORT: process.env.PORT };

  beforeAll(async () => {
    server = await RedisServer.start();
    process.env.REDIS_URL = server.url;
    process.env.PORT = '3999';
    // Imported now: the sample reads its environment when its module is loaded.
    const { createSampleApp } = await import('../../sample/create-app.js');
    app = await createSampleApp(false);
    await app.init();
  }, 30_000);

  afterAll(async () => {
    await app?.close();
    await server?.dispose();
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  it('chooses Redis, and a per-instance channel for Alice and Bob', async () => {
    const { sampleEricSseOptions } = await import('../../sample/app.module.js');
    expect(sampleEricSseOptions({})).not.toHaveProperty('redis');
    expect(sampleEricSseOptions({ REDIS_URL: 'redis://h:1', PORT: '4000' })).toMatchObject({
      redis: 'redis://h:1',
      onMessageChannel: 'eric-4000',
    });
  });

  it('keeps what the page creates in Redis, and still holds the conversation', async () => {
    const created = await request(app.getHttpServer()).post('/api/channels').send({ id: 'from-page' }).expect(201);
    expect(created.body).toEqual({ id: 'from-page' });
    const outside = await connectRedisBackend({ redis: server.url });
    try {
      expect(await outside.channelRepository.listIds()).toEqual(['conversation', 'eric-3999', 'from-page']);
    } finally {
      await outside.close();
    }
    const held = await request(app.getHttpServer()).post('/conversation').expect(200);
    const steps = held.body.steps as { listener: string; type: string }[];
    const received = (listener: string) => steps.filter((s) => s.listener === listener).map((s) => s.type);
    expect(received('Alice')).toEqual(['hello', 'stop']);
    expect(received('Bob')).toEqual(['hello_ack', 'stop']);
  }, 30_000);
});
