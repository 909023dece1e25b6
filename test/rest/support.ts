import type { INestApplication, LoggerService, ModuleMetadata } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { get, request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import supertest from 'supertest';
import {
  ChannelContainer,
  EricSseModule,
  InMemoryQueue,
  type EricSseModuleOptions,
  type MessageContract,
} from '../../src/index.js';

export interface RestApp {
  app: INestApplication;
  container: ChannelContainer;
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** The REST endpoints' base URL: origin + global prefix + `rest.path`. */
  baseUrl: string;
  /** supertest against `baseUrl`. */
  api: supertest.Agent;
  close(): Promise<void>;
}

export interface RestAppOptions {
  module?: EricSseModuleOptions;
  metadata?: ModuleMetadata;
  /** Called before `listen` (global guards, prefix, body parsers). */
  configure?: (app: NestExpressApplication) => void;
  bodyParser?: boolean;
  /** The base path the endpoints end up at (default `/eric-sse`). */
  basePath?: string;
  logger?: LoggerService | false;
}

/** A real Nest app with `EricSseModule.forRoot(module)` (REST on by default), listening on 127.0.0.1. */
export async function startRestApp(options: RestAppOptions = {}): Promise<RestApp> {
  const {
    module = { rest: {} },
    metadata = {},
    configure,
    bodyParser,
    basePath = '/eric-sse',
    logger = false,
  } = options;
  const moduleRef = await Test.createTestingModule({
    ...metadata,
    imports: [EricSseModule.forRoot(module), ...(metadata.imports ?? [])],
  }).compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({ logger, bodyParser });
  configure?.(app);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  const baseUrl = origin + basePath;
  return {
    app,
    container: app.get(ChannelContainer),
    origin,
    baseUrl,
    api: supertest.agent(baseUrl),
    close: () => app.close(),
  };
}

/** The messages waiting in a listener's queue, oldest first. */
export function queued(container: ChannelContainer, channelId: string, listenerId: string): MessageContract[] {
  return (container.get(channelId).getConnection(listenerId).queue as InMemoryQueue).peekAll();
}

/** An app with the REST endpoints and a channel `news` with two listeners, and what they have queued. */
export interface NewsApp extends RestApp {
  first: string;
  second: string;
  /** The queues of `first` and `second`, oldest message first. */
  queues(): MessageContract[][];
}

export async function startNewsApp(options: RestAppOptions = {}): Promise<NewsApp> {
  const app = await startRestApp({ module: { rest: {}, channels: [{ id: 'news' }] }, ...options });
  const channel = app.container.get('news');
  const first = (await channel.addListener()).id;
  const second = (await channel.addListener()).id;
  const queues = (): MessageContract[][] => [
    queued(app.container, 'news', first),
    queued(app.container, 'news', second),
  ];
  return { ...app, first, second, queues };
}

/** Resolves the next time the listener stops. */
export function stopped(listener: { onStop(callback: () => void): () => void }): Promise<void> {
  return new Promise((resolve) => listener.onStop(resolve));
}

/** Posts `body` in chunks with `Transfer-Encoding: chunked` (no Content-Length), as a streaming client does. */
export function postChunked(url: string, chunks: string[]): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

export interface SseEvent {
  event: string;
  data: string;
}

/** A bare SSE client over `http.get`: the status, headers, events as they arrive, and the end of the stream. */
export class SseClient {
  readonly events: SseEvent[] = [];
  text = '';
  readonly ended: Promise<void>;
  private waiters: (() => void)[] = [];

  private constructor(readonly response: IncomingMessage) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => this.receive(chunk));
    this.ended = new Promise((resolve) => response.once('end', resolve));
  }

  static open(url: string): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      get(url, (response) => resolve(new SseClient(response))).on('error', reject);
    });
  }

  get status(): number | undefined {
    return this.response.statusCode;
  }

  get headers(): IncomingHttpHeaders {
    return this.response.headers;
  }

  /** The JSON body of a non-stream (error) answer. */
  async json(): Promise<unknown> {
    await this.ended;
    return JSON.parse(this.text);
  }

  /** Resolves once `count` events in all have arrived. */
  async waitForEvents(count: number): Promise<SseEvent[]> {
    while (this.events.length < count) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.events.slice(0, count);
  }

  close(): void {
    this.response.destroy();
  }

  private receive(chunk: string): void {
    this.text += chunk;
    const blocks = this.text.split('\n\n');
    const complete = blocks.slice(0, -1).flatMap((block) => parseEvent(block) ?? []);
    this.events.splice(0, this.events.length, ...complete);
    for (const wake of this.waiters.splice(0)) wake();
  }
}

function parseEvent(block: string): SseEvent | undefined {
  let event = 'message';
  let data: string[] | undefined;
  for (const line of block.split('\n')) {
    const [field, value] = line.startsWith(':') ? ['', ''] : [line.split(':', 1)[0], line.slice(line.indexOf(':') + 2)];
    if (field === 'event') event = value;
    else if (field === 'data') (data ??= []).push(value);
  }
  return data === undefined ? undefined : { event, data: data.join('\n') };
}
