import { Controller, Get, Param, Query, Req, Res, Sse, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { get, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChannelContainer, EricSseStreams } from '../../src/index.js';

@Controller('s')
class StreamsController {
  constructor(private readonly streams: EricSseStreams) {}

  @Sse('events/:c/:l')
  events(@Param('c') c: string, @Param('l') l: string) {
    return this.streams.events(c, l);
  }

  @Sse('watch-events/:c')
  watchEvents(@Param('c') c: string) {
    return this.streams.watchEvents(c);
  }

  @Get('pipe/:c/:l')
  pipe(
    @Param('c') c: string,
    @Param('l') l: string,
    @Req() req: IncomingMessage,
    @Res() res: ServerResponse,
    @Query('keepAlive') keepAlive?: string,
  ) {
    this.streams.pipe(
      req,
      res,
      c,
      l,
      keepAlive === undefined ? undefined : { keepAliveMilliseconds: Number(keepAlive) },
    );
  }

  @Get('pipe-watch/:c')
  pipeWatch(@Param('c') c: string, @Req() req: IncomingMessage, @Res() res: ServerResponse) {
    return this.streams.pipeWatch(req, res, c);
  }
}

export interface StreamingApp {
  app: INestApplication;
  streams: EricSseStreams;
  baseUrl: string;
  close(): Promise<void>;
}

/**
 * A real Nest app listening on 127.0.0.1 with `/s/events`, `/s/watch-events`, `/s/pipe` (`?keepAlive=ms`),
 * `/s/pipe-watch`.
 */
export async function startApp(container: ChannelContainer): Promise<StreamingApp> {
  const moduleRef = await Test.createTestingModule({
    controllers: [StreamsController],
    providers: [{ provide: ChannelContainer, useValue: container }, EricSseStreams],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, streams: app.get(EricSseStreams), baseUrl: `http://127.0.0.1:${port}/s`, close: () => app.close() };
}

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
  retry?: number;
}

/**
 * A minimal SSE client over `http.get` that keeps the raw bytes and parses events as the WHATWG
 * algorithm does (enough for these tests: no BOM, no `Last-Event-ID` bookkeeping).
 */
export class RawSseClient {
  readonly events: SseEvent[] = [];
  raw = '';
  readonly ended: Promise<void>;
  private buffer = '';
  private waiters: { count: number; resolve: () => void }[] = [];

  private constructor(readonly response: IncomingMessage) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => this.receive(chunk));
    this.ended = new Promise((resolve) => response.once('end', resolve));
  }

  static open(url: string): Promise<RawSseClient> {
    return new Promise((resolve, reject) => {
      get(url, (response) => resolve(new RawSseClient(response))).on('error', reject);
    });
  }

  get status(): number | undefined {
    return this.response.statusCode;
  }

  get headers(): IncomingHttpHeaders {
    return this.response.headers;
  }

  /** Resolves once `count` events in all have arrived. */
  waitForEvents(count: number): Promise<SseEvent[]> {
    if (this.events.length >= count) return Promise.resolve(this.events.slice(0, count));
    return new Promise((resolve) => this.waiters.push({ count, resolve: () => resolve(this.events.slice(0, count)) }));
  }

  /** Closes the connection, as a browser tab going away does. */
  close(): void {
    this.response.destroy();
  }

  private receive(chunk: string): void {
    this.raw += chunk;
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) !== -1) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const event = parseBlock(block);
      if (event !== undefined) this.events.push(event);
    }
    this.waiters = this.waiters.filter((w) => {
      if (this.events.length < w.count) return true;
      w.resolve();
      return false;
    });
  }
}

/** Parses one event block (the lines before a blank line); undefined when it has no `data:` line. */
export function parseBlock(block: string): SseEvent | undefined {
  let data: string[] | undefined;
  const event: SseEvent = { event: 'message', data: '' };
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') (data ??= []).push(value);
    else if (field === 'event') event.event = value;
    else if (field === 'id') event.id = value;
    else if (field === 'retry') event.retry = Number(value);
  }
  if (data === undefined) return undefined;
  event.data = data.join('\n');
  return event;
}

/** Resolves the next time the listener stops. */
export function stopped(listener: { onStop(callback: () => void): () => void }): Promise<void> {
  return new Promise((resolve) => listener.onStop(resolve));
}

/** One turn of the event loop: the streams deliver on the next `setImmediate`. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
