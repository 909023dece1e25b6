import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Inject, Injectable, type INestApplicationContext } from '@nestjs/common';
import { ClientsModule } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { InvalidChannelException, InvalidConfigurationException, InvalidMessageFormat } from '../../src/core/errors.js';
import { EricSocketClientProxy } from '../../src/nest/transport/eric-socket-client.js';
import { defaultSocketPath, SocketClient } from '../../src/servers/socket/index.js';
import { tempSocketDir, until, UUID } from '../servers/socket/support.js';
import { PatternsController, startTransportApp, type TransportApp } from './support.js';

let dir: Awaited<ReturnType<typeof tempSocketDir>>;
let server: TransportApp;
let clientApp: INestApplicationContext;
let client: EricSocketClientProxy;

/** How an app injects the proxy ClientsModule made. */
@Injectable()
class Caller {
  constructor(@Inject('ERIC') readonly client: EricSocketClientProxy) {}
}

beforeEach(async () => {
  dir = await tempSocketDir();
  server = await startTransportApp({ path: dir.path() });
  const moduleRef = await Test.createTestingModule({
    imports: [
      ClientsModule.register([{ name: 'ERIC', customClass: EricSocketClientProxy, options: { path: dir.path() } }]),
    ],
    providers: [Caller],
  }).compile();
  clientApp = await moduleRef.createNestApplication({ logger: false }).init();
  client = clientApp.get(Caller).client;
});

afterEach(async () => {
  await clientApp.close();
  await server.app.close();
  await dir.remove();
});

describe('EricSocketClientProxy from a second Nest app', () => {
  it('is the class ClientsModule was given, on the path it was given', () => {
    expect(client).toBeInstanceOf(EricSocketClientProxy);
    expect(client.path).toBe(dir.path());
  });

  it('send() answers with what the @MessagePattern handler returned', async () => {
    expect(await firstValueFrom(client.send<number>('sum', [1, 2, 3]))).toBe(6);
    expect(await firstValueFrom(client.send<string>({ cmd: 'greet', version: 1 }, { name: 'ada' }))).toBe('hello ada');
  });

  it('send() emits every value of a streaming handler, then completes', async () => {
    expect(await lastValueFrom(client.send<number>('count', 4).pipe(toArray()))).toEqual([1, 2, 3, 4]);
    expect(await lastValueFrom(client.send('nothing', {}).pipe(toArray()))).toEqual([]);
  });

  it('unsubscribing from send() closes the connection, which unsubscribes the handler', async () => {
    const torn = firstValueFrom(PatternsController.slowTornDown);
    expect(await lastValueFrom(client.send<number>('ticks', {}).pipe(take(3), toArray()))).toEqual([0, 1, 2]);
    await torn;
  });

  it('send() errors with what the server answered', async () => {
    await expect(firstValueFrom(client.send('fail', 1))).rejects.toMatchObject({
      name: 'RpcException',
      message: 'not allowed',
    });
    const values: number[] = [];
    const failure = await new Promise((resolve) =>
      client.send<number>('half', 1).subscribe({ next: (value) => values.push(value), error: resolve }),
    );
    expect(values).toEqual([1, 2]);
    expect(failure).toMatchObject({ name: 'RpcException', message: 'broke after two' });
    const unknown = await firstValueFrom(client.send('nope', 1)).catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(InvalidMessageFormat);
    expect((unknown as Error).message).toBe('No message handler for pattern nope');
  });

  it('emit() runs the @EventPattern handlers and completes once the server took the event', async () => {
    const received: unknown[] = [];
    server.audit.received.subscribe((event) => received.push(event));
    await lastValueFrom(client.emit('audit', { user: 1 }), { defaultValue: undefined });
    await until(() => received.length === 2, 'both event handlers');
    expect(received).toEqual([
      { pattern: 'audit', data: { user: 1 } },
      { pattern: 'audit (second handler)', data: { user: 1 } },
    ]);
    await expect(lastValueFrom(client.emit('nope', 1))).rejects.toThrow('No event handler for pattern nope');
  });

  it('packet metadata set by a dispatch hook reaches the handler context', async () => {
    client.setOnDispatchHook((packet) => (packet.metadata = { trace: 'abc' }));
    const answer = await firstValueFrom(client.send<{ command: { metadata: unknown } }>('context', 1));
    expect(answer.command.metadata).toEqual({ trace: 'abc' });
  });

  it('eric (and unwrap()) is a SocketClient for the eric verbs on the same server', async () => {
    expect(client.unwrap()).toBe(client.eric);
    expect(client.eric).toBeInstanceOf(SocketClient);
    const channelId = await client.eric.createChannel();
    expect(server.container.has(channelId)).toBe(true);
    const listenerId = await client.eric.register(channelId);
    expect(listenerId).toMatch(UUID);
    expect(await client.eric.broadcastMessage(channelId, 'news', { n: 1 })).toBe('ack');
    const lines = client.eric.stream(channelId, listenerId);
    expect((await lines.next()).value).toBe('{"event": "news", "retry": 5, "data": {"n": 1}}');
    await lines.return();
    await expect(client.eric.broadcastMessage('nope', 'x')).rejects.toBeInstanceOf(InvalidChannelException);
  });

  it('no server at the path: send and emit error with the connection error', async () => {
    const lost = new EricSocketClientProxy({ path: dir.path('nobody.sock') });
    await expect(firstValueFrom(lost.send('sum', [1]))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(lastValueFrom(lost.emit('audit', 1))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('defaults to defaultSocketPath() and refuses options that are not an object', () => {
    expect(new EricSocketClientProxy().path).toBe(defaultSocketPath());
    expect(() => new EricSocketClientProxy(null as never)).toThrow(InvalidConfigurationException);
    expect(() => new EricSocketClientProxy({ path: '' })).toThrow(InvalidConfigurationException);
  });
});
