import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import {
  ChannelContainer,
  EricSseMessenger,
  EricSseModule,
  InMemoryQueue,
  InvalidConfigurationException,
  InvalidMessageFormat,
  Message,
  SignedMessage,
  type EricSseModuleOptions,
  type MessageContract,
} from '../../src/index.js';
import { bootstrapError, createApp } from './support.js';

let app: INestApplication | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** The app, with listeners alice and bob on channel `news`. */
async function start(
  options: EricSseModuleOptions = {},
): Promise<{ messenger: EricSseMessenger; alice: string; bob: string }> {
  app = await createApp({ imports: [EricSseModule.forRoot({ channels: [{ id: 'news' }], ...options })] });
  const news = app.get(ChannelContainer).get('news');
  const alice = (await news.addListener()).id;
  const bob = (await news.addListener()).id;
  return { messenger: app.get(EricSseMessenger), alice, bob };
}

function queuedFor(listenerId: string, channelId = 'news'): MessageContract[] {
  return (app!.get(ChannelContainer).get(channelId).getConnection(listenerId).queue as InMemoryQueue).peekAll();
}

describe('EricSseMessenger.dispatchTo with an idempotency key', () => {
  it('sends a retried message once; the channel id may still be given alone', async () => {
    const { messenger, alice, bob } = await start();
    const replays: string[] = [];
    const options = { channelId: 'news', idempotencyKey: 'hello-1', onReplay: () => replays.push('replay') };
    await messenger.dispatchTo(alice, bob, new Message('hello', 1), options);
    await messenger.dispatchTo(alice, bob, new Message('hello', 1), options);
    await messenger.dispatchTo(alice, bob, new Message('plain'), 'news');
    await messenger.dispatchTo(alice, bob, new Message('plain'), 'news');
    expect(queuedFor(bob)).toEqual([
      new SignedMessage(alice, 'hello', 1),
      new SignedMessage(alice, 'plain'),
      new SignedMessage(alice, 'plain'),
    ]);
    expect(replays).toEqual(['replay']);
  });

  it('refuses a bad key with InvalidMessageFormat, sending nothing', async () => {
    const { messenger, alice, bob } = await start();
    for (const idempotencyKey of ['', 'k'.repeat(300), 'a\u0000b']) {
      await expect(
        messenger.dispatchTo(alice, bob, new Message('x'), { channelId: 'news', idempotencyKey }),
      ).rejects.toThrow(InvalidMessageFormat);
    }
    expect(queuedFor(bob)).toEqual([]);
  });
});

describe('the module option idempotency', () => {
  it('sets the window and bound of the channels the module makes', async () => {
    await start({ idempotency: { windowMilliseconds: 1000, maxKeys: 10 } });
    const container = app!.get(ChannelContainer);
    expect(container.get('news').idempotency).toEqual({ windowMilliseconds: 1000, maxKeys: 10 });
    expect(container.get('eric').idempotency).toEqual({ windowMilliseconds: 1000, maxKeys: 10 });
  });

  it.each<[string, unknown, string]>([
    ['a zero window', { windowMilliseconds: 0 }, 'idempotency.windowMilliseconds must be an integer >= 1, got 0'],
    ['a fractional maxKeys', { maxKeys: 2.5 }, 'idempotency.maxKeys must be an integer >= 1, got 2.5'],
    ['an unknown setting', { ttl: 5 }, 'idempotency.ttl is not an option'],
    ['not an object', true, 'idempotency must be an object { windowMilliseconds?, maxKeys? }, got true'],
  ])('refuses %s', async (_case, idempotency, message) => {
    const error = await bootstrapError({ imports: [EricSseModule.forRoot({ idempotency } as never)] });
    expect(error).toBeInstanceOf(InvalidConfigurationException);
    expect(error.message).toContain(message);
  });
});
