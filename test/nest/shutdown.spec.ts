import { describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Res, type OnApplicationShutdown } from '@nestjs/common';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ChannelContainer,
  EricSseMessenger,
  EricSseModule,
  getEricLogger,
  InvalidListenerException,
  Message,
  OnMessage,
  type SignedMessage,
} from '../../src/index.js';
import { createApp, deferred } from './support.js';

/** Writes a channel's watch stream as SSE frames, ending the response when the stream ends. */
@Controller('watch')
class WatchController {
  constructor(private readonly channels: ChannelContainer) {}

  @Get()
  async watch(@Res() res: import('node:http').ServerResponse): Promise<void> {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(': open\n\n');
    for await (const event of await this.channels.get('news').watch()) res.write(`data: ${JSON.stringify(event)}\n\n`);
    res.end();
  }
}

@Injectable()
class Echo {
  @OnMessage('echo')
  echo(msg: SignedMessage) {
    return [new Message('echo', msg.payload)];
  }
}

describe('shutdown', () => {
  it('ends every stream and every @OnMessage loop, finishes SSE responses and restores the logger', async () => {
    const before = getEricLogger();
    const app = await createApp({
      imports: [EricSseModule.forRoot({ channels: [{ id: 'news' }] })],
      providers: [Echo],
      controllers: [WatchController],
    });
    await app.listen(0, '127.0.0.1');
    expect(getEricLogger()).not.toBe(before);
    const { port } = app.getHttpServer().address() as AddressInfo;

    const response = deferred<{ status: number; body: Promise<string> }>();
    request({ port, host: '127.0.0.1', path: '/watch' }, (res) => {
      res.setEncoding('utf8');
      let body = '';
      const ended = new Promise<string>((resolve) => res.on('end', () => resolve(body)));
      res.on('data', (chunk: string) => {
        body += chunk;
        if (body === ': open\n\n') response.resolve({ status: res.statusCode ?? 0, body: ended });
      });
    }).end();
    const { status, body } = await response.promise;
    expect(status).toBe(200);

    const container = app.get(ChannelContainer);
    const news = container.get('news');
    const inProcess = await news.watch();
    const inProcessDone = (async () => {
      const events: string[] = [];
      for await (const event of inProcess) events.push((event as { event: string }).event);
      return events;
    })();
    await news.broadcast(new Message('headline', 'x'));
    const messenger = app.get(EricSseMessenger);
    const echo = messenger.listener('Echo');

    await app.close();

    expect(await body).toBe(': open\n\ndata: {"event":"headline","retry":5,"data":"x"}\n\n');
    expect(await inProcessDone).toEqual(['headline']);
    expect(echo.isRunning()).toBe(false);
    for (const channelId of container.getAllIds()) {
      expect(
        container
          .get(channelId)
          .getConnections()
          .every((c) => !c.listener.isRunning()),
      ).toBe(true);
    }
    expect(() => messenger.start('Echo')).toThrow(
      new InvalidListenerException('Listener Echo cannot start: the application is shutting down'),
    );
    expect(getEricLogger()).toBe(before);
  });

  it('lets an action in progress finish before the application shuts down', async () => {
    const order: string[] = [];
    const started = deferred();

    @Injectable()
    class Slow implements OnApplicationShutdown {
      constructor(private readonly messenger: EricSseMessenger) {}

      @OnMessage('work')
      async work() {
        started.resolve();
        await new Promise<void>((resolve) => this.messenger.listener('Slow').onStop(resolve));
        await new Promise((resolve) => setImmediate(resolve));
        order.push('action finished');
        return [new Message('done')];
      }

      onApplicationShutdown() {
        order.push('application shut down');
      }
    }

    const app = await createApp({ imports: [EricSseModule.forRoot()], providers: [Slow] });
    const eric = app.get(ChannelContainer).get('eric');
    const me = await eric.addListener();
    await app.get(EricSseMessenger).dispatchTo(me.id, 'Slow', new Message('work'));
    await started.promise;
    await app.close();
    expect(order).toEqual(['action finished', 'application shut down']);
  });
});
