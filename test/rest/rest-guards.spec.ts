import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import { queued, startRestApp, type RestApp, type RestAppOptions } from './support.js';

/** Lets a request through only with `x-allow: yes`, and counts what it saw. */
@Injectable()
class HeaderGuard implements CanActivate {
  static seen = 0;
  canActivate(context: ExecutionContext): boolean {
    HeaderGuard.seen++;
    return context.switchToHttp().getRequest<IncomingMessage>().headers['x-allow'] === 'yes';
  }
}

const FORBIDDEN = { statusCode: 403, error: 'Forbidden', message: 'Forbidden resource' };

describe('REST endpoints: guards', () => {
  let server: RestApp;
  let listener: string;

  afterEach(async () => {
    await server?.close();
  });

  async function start(options: RestAppOptions): Promise<RestApp> {
    server = await startRestApp(options);
    listener = (await server.container.get('news').addListener()).id;
    return server;
  }

  const channels = [{ id: 'news' }];

  /** Every route, each with a request that would change state (or open a stream) if let through. */
  function everyRoute(api: RestApp['api']) {
    return [
      api.post('/channels').send({ id: 'created' }),
      api.get('/channels'),
      api.delete('/channels/news'),
      api.get('/channels/news/listeners'),
      api.post('/channels/news/listeners'),
      api.post('/channels/news/broadcast').send({ type: 't' }),
      api.post(`/channels/news/listeners/${listener}/messages`).send({ type: 't' }),
      api.delete(`/channels/news/listeners/${listener}`),
      api.get(`/channels/news/listeners/${listener}/stream`),
      api.get('/channels/news/watch'),
    ];
  }

  async function expectEveryRouteForbidden(): Promise<void> {
    for (const request of everyRoute(server.api)) {
      const response = await request;
      expect(response.status).toBe(403);
      expect(response.body).toEqual(FORBIDDEN);
    }
    expect(server.container.getAllIds()).toEqual(['news', 'eric']);
    const channel = server.container.get('news');
    expect(channel.getConnections().map((c) => c.listener.id)).toEqual([listener]);
    expect(channel.getListener(listener).isRunning()).toBe(false);
    expect(queued(server.container, 'news', listener)).toEqual([]);
  }

  it('rest.guards (a class): 403 on every route, nothing changed; let through when it allows', async () => {
    HeaderGuard.seen = 0;
    await start({ module: { rest: { guards: [HeaderGuard] }, channels } });
    await expectEveryRouteForbidden();
    expect(HeaderGuard.seen).toBe(10);
    await server.api.post('/channels/news/broadcast').set('x-allow', 'yes').send({ type: 't' }).expect(202);
    expect(queued(server.container, 'news', listener)).toHaveLength(1);
  });

  it('rest.guards (an instance)', async () => {
    const guard: CanActivate = { canActivate: () => false };
    await start({ module: { rest: { guards: [guard] }, channels } });
    await expectEveryRouteForbidden();
  });

  it('runs before the body is looked at: an oversized body from a rejected client is a 403', async () => {
    await start({ module: { rest: { guards: [HeaderGuard], bodyLimit: 10 }, channels } });
    const response = await server.api.post('/channels/news/broadcast').send({ type: 'much too long' });
    expect(response.status).toBe(403);
    expect(response.body).toEqual(FORBIDDEN);
  });

  it('answers what a guard throws with the same JSON shape', async () => {
    const guard: CanActivate = {
      canActivate: () => {
        throw new UnauthorizedException('Token expired');
      },
    };
    await start({ module: { rest: { guards: [guard] }, channels } });
    const response = await server.api.post('/channels').send({ id: 'x' }).expect(401);
    expect(response.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'Token expired' });
    expect(server.container.has('x')).toBe(false);
  });

  it('honours a global guard given as APP_GUARD', async () => {
    await start({
      module: { rest: {}, channels },
      metadata: { providers: [{ provide: APP_GUARD, useClass: HeaderGuard }] },
    });
    await expectEveryRouteForbidden();
    await server.api.post('/channels').set('x-allow', 'yes').send({ id: 'created' }).expect(201);
  });

  it('honours a global guard given to app.useGlobalGuards', async () => {
    await start({ module: { rest: {}, channels }, configure: (app) => app.useGlobalGuards(new HeaderGuard()) });
    await expectEveryRouteForbidden();
    await server.api.get('/channels').set('x-allow', 'yes').expect(200);
  });
});
