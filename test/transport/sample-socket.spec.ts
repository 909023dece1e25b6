import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { lstat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createSampleApp } from '../../sample/create-app.js';
import { connectSocketTransport, sampleSocketPath } from '../../sample/socket-transport.js';
import { defaultSocketPath, SocketClient } from '../../src/servers/socket/index.js';
import { tempSocketDir } from '../servers/socket/support.js';

let dir: Awaited<ReturnType<typeof tempSocketDir>>;
let app: NestExpressApplication | undefined;

beforeEach(async () => {
  dir = await tempSocketDir();
});

afterEach(async () => {
  await app?.close();
  app = undefined;
  await dir.remove();
});

describe('the sample app with its socket transport', () => {
  it('listens at $SOCKET_PATH, else defaultSocketPath()', () => {
    expect(sampleSocketPath({ SOCKET_PATH: '/run/x.sock' })).toBe('/run/x.sock');
    expect(sampleSocketPath({})).toBe(defaultSocketPath());
  });

  it('a channel made and broadcast to over the socket is the one its REST API lists and its page streams', async () => {
    app = await createSampleApp(false);
    await connectSocketTransport(app, dir.path());
    await app.listen(0, '127.0.0.1');
    const base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}/api`;
    const client = new SocketClient(dir.path());
    const channelId = await client.createChannel();
    expect(((await (await fetch(`${base}/channels`)).json()) as { ids: string[] }).ids).toContain(channelId);

    const listenerId = await client.register(channelId);
    expect(await client.broadcastMessage(channelId, 'news', { text: 'from the shell' })).toBe('ack');
    const controller = new AbortController();
    const response = await fetch(`${base}/channels/${channelId}/listeners/${listenerId}/stream`, {
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    let body = '';
    while (!body.includes('from the shell')) {
      const chunk = await reader.read();
      if (chunk.done) throw new Error(`stream ended early: ${body}`);
      body += new TextDecoder().decode(chunk.value);
    }
    expect(body).toMatch(/event: news\n/);
    controller.abort();

    await app.close();
    app = undefined;
    await expect(lstat(dir.path())).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
