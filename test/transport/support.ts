import { Controller, Injectable, type INestApplication, type Type } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import { interval, map, Observable, of, startWith, Subject } from 'rxjs';
import { EricSseModule } from '../../src/nest/eric-sse.module.js';
import { EricSocketContext } from '../../src/nest/transport/eric-socket-context.js';
import {
  EricSocketTransport,
  type EricSocketTransportOptions,
} from '../../src/nest/transport/eric-socket-transport.js';
import { ChannelContainer } from '../../src/servers/channel-container.js';

/** What the `@EventPattern` handlers received, in order. */
@Injectable()
export class Audit {
  readonly received = new Subject<{ pattern: string; data: unknown }>();
}

/** `@MessagePattern` / `@EventPattern` handlers an app adds next to the eric verbs. */
@Controller()
export class PatternsController {
  /** Resolves with each subscription of `slow`'s Observable when it is unsubscribed. */
  static readonly slowTornDown = new Subject<void>();

  constructor(
    private readonly container: ChannelContainer,
    private readonly audit: Audit,
  ) {}

  @MessagePattern('sum')
  sum(data: number[]): number {
    return data.reduce((total, value) => total + value, 0);
  }

  @MessagePattern({ cmd: 'greet', version: 1 })
  async greet(data: { name: string }): Promise<string> {
    return `hello ${data.name}`;
  }

  @MessagePattern('channels')
  channels(): string[] {
    return this.container.getAllIds();
  }

  @MessagePattern('count')
  count(data: number): Observable<number> {
    return of(...Array.from({ length: data }, (_, i) => i + 1));
  }

  @MessagePattern('nothing')
  nothing(): Observable<never> {
    return new Observable((subscriber) => subscriber.complete());
  }

  /** One value at once, then more every 10 ms until the client goes away. */
  @MessagePattern('ticks')
  ticks(): Observable<number> {
    return new Observable<number>((subscriber) => {
      const inner = interval(10)
        .pipe(
          map((i) => i + 1),
          startWith(0),
        )
        .subscribe(subscriber);
      return () => {
        inner.unsubscribe();
        PatternsController.slowTornDown.next();
      };
    });
  }

  @MessagePattern('half')
  half(): Observable<number> {
    return new Observable<number>((subscriber) => {
      subscriber.next(1);
      subscriber.next(2);
      subscriber.error(new RpcException('broke after two'));
    });
  }

  @MessagePattern('fail')
  fail(): never {
    throw new RpcException('not allowed');
  }

  @MessagePattern('fail-object')
  failObject(): never {
    throw new RpcException({ code: 42, reason: 'teapot' });
  }

  @MessagePattern('crash')
  crash(): never {
    throw new Error('a secret detail');
  }

  @MessagePattern('context')
  context(@Payload() data: unknown, @Ctx() context: EricSocketContext): unknown {
    return { pattern: context.getPattern(), command: context.getCommand(), data };
  }

  @MessagePattern('also-event')
  alsoEvent(data: unknown): string {
    this.audit.received.next({ pattern: 'also-event', data });
    return 'answered';
  }

  @EventPattern('audit')
  onAudit(data: unknown): void {
    this.audit.received.next({ pattern: 'audit', data });
  }

  @EventPattern('audit')
  onAuditAgain(data: unknown): void {
    this.audit.received.next({ pattern: 'audit (second handler)', data });
  }

  @EventPattern('audit-fails')
  onAuditFails(_data: unknown): void {
    throw new Error('event handler failed');
  }
}

export interface TransportApp {
  app: INestApplication;
  transport: EricSocketTransport;
  container: ChannelContainer;
  audit: Audit;
  /** Base URL of the app's HTTP server. */
  url: string;
}

/**
 * A real hybrid Nest app: `EricSseModule` with its REST routes (under `/eric-sse`), the pattern handlers,
 * and the eric socket transport on `options.path`, listening on both.
 */
export async function startTransportApp(
  options: EricSocketTransportOptions,
  controllers: Type[] = [PatternsController],
): Promise<TransportApp> {
  const moduleRef = await Test.createTestingModule({
    imports: [EricSseModule.forRoot({ rest: {} })],
    controllers,
    providers: [Audit],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  const transport = new EricSocketTransport({ idleTimeoutMs: 2000, streamProbeIntervalMs: 20, ...options });
  app.connectMicroservice({ strategy: transport });
  await app.startAllMicroservices();
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    app,
    transport,
    container: app.get(ChannelContainer),
    audit: app.get(Audit),
    url: `http://127.0.0.1:${port}`,
  };
}
