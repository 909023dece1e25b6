import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createSampleApp } from '../../sample/create-app.js';
import { ChannelContainer } from '../../src/index.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SCREENSHOT = '/tmp/sample.png';
/** `MAX_STREAMS` of sample/public/app.js. */
const MAX_PAGE_STREAMS = 4;

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) process.stdout.write(`SKIP: chromium not found at ${CHROMIUM}\n`);
// Reported by Jest as skipped, not passed, where there is no browser (CI installs one).
const describeInBrowser = haveChromium ? describe : describe.skip;

jest.setTimeout(60_000);

describeInBrowser('the sample page in headless Chromium', () => {
  let app: NestExpressApplication;
  let userDataDir: string;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: Error[] = [];
  const apiRequests: string[] = [];

  beforeAll(async () => {
    app = await createSampleApp(false);
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    userDataDir = await mkdtemp(join(tmpdir(), 'eric-sse-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1200, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    // Shorter than Jest's timeout, so a missing element fails with Playwright's message.
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (error) => pageErrors.push(error));
    page.on('request', (req) => {
      if (req.method() === 'POST') apiRequests.push(new URL(req.url()).pathname);
    });
    await page.goto(`http://127.0.0.1:${port}/`);
  });

  afterAll(async () => {
    await context?.close();
    await app?.close();
    if (userDataDir !== undefined) await rm(userDataDir, { recursive: true, force: true });
  });

  const channelItem = (id: string) => page.locator(`#channels li[data-channel="${id}"]`);

  async function createChannel(id: string): Promise<void> {
    await page.fill('#channel-id', id);
    await page.click('#create-channel button[type="submit"]');
    await channelItem(id).waitFor();
  }

  /** Clicks Subscribe on the channel; resolves with the new listener's id once its stream shows as open. */
  async function subscribe(channelId: string): Promise<string> {
    const before = await channelItem(channelId).locator('li.listener').count();
    await channelItem(channelId).getByRole('button', { name: 'Subscribe' }).click();
    const listener = channelItem(channelId).locator('li.listener').nth(before);
    await listener.locator('.badge', { hasText: 'streaming' }).waitFor();
    return (await listener.getAttribute('data-listener')) as string;
  }

  /** Clicks the channel's Remove button (which first closes the page's streams on it). */
  async function removeChannel(id: string): Promise<void> {
    await channelItem(id).locator('.channel-head').getByRole('button', { name: 'Remove' }).click();
    await channelItem(id).waitFor({ state: 'detached' });
  }

  async function send(channelId: string, type: string, payload: string, to = ''): Promise<void> {
    await page.selectOption('#send-channel', channelId);
    await page.selectOption('#send-to', to);
    await page.fill('#send-type', type);
    await page.fill('#send-payload', payload);
    await page.click('#send button[type="submit"]');
  }

  const eventRow = (type: string, text: string) =>
    page.locator(`#events tbody tr[data-type="${type}"]`, { hasText: text });

  it('creates a channel, subscribes, broadcasts from the form and shows the event live', async () => {
    await createChannel('news');
    const listenerId = await subscribe('news');
    expect(app.get(ChannelContainer).get('news').hasListener(listenerId)).toBe(true);

    await send('news', 'greeting', '{ "text": "hello from the browser" }');

    const row = eventRow('greeting', 'hello from the browser');
    await row.waitFor();
    const cells = await row.locator('td').allInnerTexts();
    expect(cells.slice(1, 5)).toEqual([
      'news',
      `${listenerId.slice(0, 8)}…`,
      'greeting',
      '{"text":"hello from the browser"}',
    ]);
    expect(await page.textContent('#send-status')).toBe("Broadcast 'greeting' on news.");
  });

  it('dispatches to one listener: only that listener receives it', async () => {
    await createChannel('desk');
    const first = await subscribe('desk');
    const second = await subscribe('desk');

    await send('desk', 'private', '"just for you"', second);
    await eventRow('private', 'just for you').waitFor();
    // Each listener's stream keeps its queue's order: once both have logged this broadcast, a private
    // message that had reached the first listener would have been logged before it.
    await send('desk', 'everyone', '1');
    const everyone = page.locator('#events tbody tr[data-type="everyone"]');
    await everyone.nth(1).waitFor();

    const listenerOf = (rows: typeof everyone) =>
      rows.locator('td:nth-child(3) code').evaluateAll((codes) => codes.map((code) => code.title));
    expect((await listenerOf(everyone)).sort()).toEqual([first, second].sort());
    expect(await listenerOf(page.locator('#events tbody tr[data-type="private"]'))).toEqual([second]);
    await removeChannel('desk');
  });

  it('closes a stream and reopens it: what was sent meanwhile arrives', async () => {
    await createChannel('later');
    const listenerId = await subscribe('later');
    const listener = channelItem('later').locator(`li[data-listener="${listenerId}"]`);

    await listener.getByRole('button', { name: 'Close stream' }).click();
    await listener.getByRole('button', { name: 'Stream' }).waitFor();
    await send('later', 'while-away', '"kept in the queue"');
    await page.locator('#send-status', { hasText: "Broadcast 'while-away' on later." }).waitFor();
    await listener.getByRole('button', { name: 'Stream' }).click();

    await eventRow('while-away', 'kept in the queue').waitFor();
    await listener.locator('.badge', { hasText: 'streaming' }).waitFor();
    await removeChannel('later');
  });

  it('refuses to open more streams than the browser can hold, and says why', async () => {
    await createChannel('many');
    const open = await page.locator('#channels .badge').count();
    for (let i = open; i < MAX_PAGE_STREAMS; i++) await subscribe('many');

    await channelItem('many').getByRole('button', { name: 'Subscribe' }).click();

    await page.locator('#channels-error', { hasText: `at most ${MAX_PAGE_STREAMS} streams` }).waitFor();
    expect(app.get(ChannelContainer).get('many').getConnections()).toHaveLength(MAX_PAGE_STREAMS - open);
    await removeChannel('many');
    expect(await page.locator('#channels .badge').count()).toBe(open);
  });

  it('shows a payload that is not JSON as an error and sends nothing', async () => {
    const postsBefore = apiRequests.length;

    await send('news', 'greeting', '{ not json');

    await page.locator('#send-error', { hasText: 'The payload is not valid JSON' }).waitFor();
    expect(apiRequests.slice(postsBefore)).toEqual([]);
  });

  it('shows the server’s error when a request fails', async () => {
    await createChannel('gone');
    app.get(ChannelContainer).rm('gone'); // removed behind the page's back

    await send('gone', 'greeting', '');

    await page.locator('#send-error', { hasText: '404' }).waitFor();
    expect(await page.textContent('#send-error')).toContain('InvalidChannelException');
  });

  it('removes a listener and a channel', async () => {
    await createChannel('temp');
    const listenerId = await subscribe('temp');

    await channelItem('temp')
      .locator(`li[data-listener="${listenerId}"]`)
      .getByRole('button', { name: 'Remove' })
      .click();
    await channelItem('temp').locator(`li[data-listener="${listenerId}"]`).waitFor({ state: 'detached' });
    expect(app.get(ChannelContainer).get('temp').hasListener(listenerId)).toBe(false);

    await removeChannel('temp');
    expect(app.get(ChannelContainer).has('temp')).toBe(false);
  });

  it('runs the Alice/Bob conversation and shows each side live', async () => {
    await page.click('#start-conversation');

    await page.locator('#alice-steps li[data-type="stop"]').waitFor();
    await page.locator('#bob-steps li[data-type="stop"]').waitFor();
    await page.locator('#conversation-status', { hasText: 'the conversation is over' }).waitFor();
    const types = (list: string) =>
      page.locator(`${list} li`).evaluateAll((items) => items.map((li) => li.dataset.type));
    expect(await types('#alice-steps')).toEqual(['hello', 'stop']);
    expect(await types('#bob-steps')).toEqual(['hello_ack', 'stop']);
    expect(await page.textContent('#alice-steps li[data-type="hello"]')).toContain('from Bob');
    expect(await page.textContent('#bob-steps li[data-type="hello_ack"]')).toContain('from Alice');
    await page.locator('#start-conversation:enabled').waitFor();

    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});
