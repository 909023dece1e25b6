import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { createSampleApp } from '../../sample/create-app.js';
import { CONVERSATION_CHANNEL } from '../../sample/transcript.js';
import { ChannelContainer, EricSseMessenger, InMemoryQueue, type SSEEvent } from '../../src/index.js';

let app: NestExpressApplication;
beforeEach(async () => {
  app = await createSampleApp(false);
  await app.init();
});
afterEach(async () => {
  await app.close();
});

const EXPECTED_STEPS = [
  { listener: 'Alice', type: 'hello', from: 'Bob', payload: 'Hello Alice, I am Bob.' },
  { listener: 'Bob', type: 'hello_ack', from: 'Alice', payload: 'Hi Bob, I am Alice.' },
];

/** The steps of one speaker, in order. */
function stepsOf(steps: { listener: string; type: string }[], listener: string): string[] {
  return steps.filter((step) => step.listener === listener).map((step) => step.type);
}

describe('the sample page', () => {
  it('is served at / with its script and style sheet', async () => {
    const page = await request(app.getHttpServer()).get('/').expect(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toContain('<script type="module" src="app.js"></script>');
    expect(page.text).toContain('Start the conversation');

    const script = await request(app.getHttpServer()).get('/app.js').expect(200);
    expect(script.headers['content-type']).toMatch(/javascript/);
    expect(script.text).toContain("const API = '/api'");

    const style = await request(app.getHttpServer()).get('/style.css').expect(200);
    expect(style.headers['content-type']).toMatch(/^text\/css/);
  });

  it('answers 404 for a file that is not there', async () => {
    await request(app.getHttpServer()).get('/nope.js').expect(404);
  });
});

describe('POST /conversation', () => {
  it('holds the Alice/Bob conversation and answers with its steps once both have stopped', async () => {
    const response = await request(app.getHttpServer()).post('/conversation').expect(200);

    const steps = response.body.steps as { listener: string; type: string }[];
    expect(steps.slice(0, 2)).toEqual(EXPECTED_STEPS);
    expect(stepsOf(steps, 'Alice')).toEqual(['hello', 'stop']);
    expect(stepsOf(steps, 'Bob')).toEqual(['hello_ack', 'stop']);
    const messenger = app.get(EricSseMessenger);
    expect([messenger.listener('Alice').isRunning(), messenger.listener('Bob').isRunning()]).toEqual([false, false]);
  });

  it('leaves nothing in Alice and Bob’s queues, so it can be held again', async () => {
    await request(app.getHttpServer()).post('/conversation').expect(200);
    const eric = app.get(ChannelContainer).get('eric');
    for (const id of ['Alice', 'Bob']) expect((eric.getConnection(id).queue as InMemoryQueue).size).toBe(0);

    const again = await request(app.getHttpServer()).post('/conversation').expect(200);
    expect(stepsOf(again.body.steps, 'Alice')).toEqual(['hello', 'stop']);
    expect(stepsOf(again.body.steps, 'Bob')).toEqual(['hello_ack', 'stop']);
  });

  it('answers 409 while a conversation is going on, without disturbing it', async () => {
    const server = app.getHttpServer();
    const channel = app.get(ChannelContainer).get(CONVERSATION_CHANNEL);
    const watcher = await channel.addListener();
    watcher.start();

    const first = request(server)
      .post('/conversation')
      .then((response) => response);
    // It is under way once Alice has received Bob's hello.
    for await (const event of channel.messageStream(watcher)) {
      if ((event as SSEEvent).event === 'received') break;
    }
    const second = await request(server).post('/conversation').expect(409);

    expect(second.body).toEqual(
      expect.objectContaining({ statusCode: 409, message: expect.stringMatching(/already/) }),
    );
    const done = await first;
    expect(done.status).toBe(200);
    expect(stepsOf(done.body.steps, 'Alice')).toEqual(['hello', 'stop']);
    expect(stepsOf(done.body.steps, 'Bob')).toEqual(['hello_ack', 'stop']);
  });

  it('answers 409 naming who is gone when Alice was removed from the channel, and holds nothing', async () => {
    const watcher = await app.get(ChannelContainer).get(CONVERSATION_CHANNEL).addListener();
    await app.get(ChannelContainer).get('eric').removeListener('Alice');

    const response = await request(app.getHttpServer()).post('/conversation').expect(409);

    expect(response.body.message).toMatch(/^Alice left the channel .*restart the sample/);
    expect(
      (app.get(ChannelContainer).get(CONVERSATION_CHANNEL).getConnection(watcher.id).queue as InMemoryQueue).size,
    ).toBe(0);
    expect(app.get(EricSseMessenger).listener('Bob').isRunning()).toBe(true);
  });

  it('tells the conversation channel each step as it happens: started, received…, ended', async () => {
    const channel = app.get(ChannelContainer).get(CONVERSATION_CHANNEL);
    const watcher = await channel.addListener();
    watcher.start();

    await request(app.getHttpServer()).post('/conversation').expect(200);

    const events: SSEEvent[] = [];
    for await (const event of channel.messageStream(watcher)) {
      events.push(event as SSEEvent);
      if (events.at(-1)?.event === 'ended') break;
    }
    expect(events.map((event) => event.event)).toEqual([
      'started',
      'received',
      'received',
      'received',
      'received',
      'ended',
    ]);
    expect(events.slice(1, 3).map((event) => event.data)).toEqual(EXPECTED_STEPS);
    expect(events.at(-1)?.data).toEqual({ steps: 4 });
  });

  it('still holds the conversation when the conversation channel was removed (nobody watches it)', async () => {
    app.get(ChannelContainer).rm(CONVERSATION_CHANNEL);

    const response = await request(app.getHttpServer()).post('/conversation').expect(200);

    expect(stepsOf(response.body.steps, 'Alice')).toEqual(['hello', 'stop']);
    expect(stepsOf(response.body.steps, 'Bob')).toEqual(['hello_ack', 'stop']);
  });
});
