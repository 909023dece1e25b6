import { Controller, Param, Req, Sse, type INestApplication, type MessageEvent } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Observable } from 'rxjs';
import supertest from 'supertest';
import { ChannelContainer, EricSseModule, EricSseStreams, type EricSseModuleOptions } from '../../src/index.js';

/** `@Sse` routes over `EricSseStreams`, each passing the request so that it resumes from its `Last-Event-ID`. */
@Controller('r')
class ResumeController {
  constructor(private readonly streams: EricSseStreams) {}

  @Sse('events/:c/:l')
  events(@Param('c') c: string, @Param('l') l: string, @Req() req: IncomingMessage): Observable<MessageEvent> {
    return this.streams.events(c, l, req);
  }

  /** For listeners another instance made (Redis). */
  @Sse('open/:c/:l')
  open(@Param('c') c: string, @Param('l') l: string, @Req() req: IncomingMessage): Promise<Observable<MessageEvent>> {
    return this.streams.openEvents(c, l, req);
  }

  @Sse('watch/:c')
  watch(@Param('c') c: string): Observable<MessageEvent> {
    return this.streams.watchEvents(c);
  }
}

export interface ResumeApp {
  app: INestApplication;
  container: ChannelContainer;
  streams: EricSseStreams;
  origin: string;
  /** supertest against the REST endpoints (`/eric-sse`). */
  api: supertest.Agent;
  close(): Promise<void>;
}

/** A real Nest app on 127.0.0.1: `EricSseModule.forRoot({ rest: {}, ...module })` and the `/r` routes. */
export async function startResumeApp(module: EricSseModuleOptions = {}): Promise<ResumeApp> {
  const moduleRef = await Test.createTestingModule({
    imports: [EricSseModule.forRoot({ rest: {}, ...module })],
    controllers: [ResumeController],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    app,
    container: app.get(ChannelContainer),
    streams: app.get(EricSseStreams),
    origin,
    api: supertest.agent(`${origin}/eric-sse`),
    close: () => app.close(),
  };
}

/** The two ways to stream a listener: the fast path (REST stream route) and the `@Sse` helper. */
export type StreamPath = 'fast path' | '@Sse helper';

export const STREAM_PATHS: StreamPath[] = ['fast path', '@Sse helper'];

/** The URL streaming `listenerId` of `channelId` on `path`; `open` uses the helper that resolves ids of other instances. */
export function streamUrl(
  origin: string,
  path: StreamPath,
  channelId: string,
  listenerId: string,
  open = false,
): string {
  if (path === 'fast path') return `${origin}/eric-sse/channels/${channelId}/listeners/${listenerId}/stream`;
  return `${origin}/r/${open ? 'open' : 'events'}/${channelId}/${listenerId}`;
}

export interface ReceivedEvent {
  id?: string;
  event: string;
  data: string;
}

/**
 * A raw SSE client over `http.get`: sends the headers it is given (such as `Last-Event-ID`), keeps the
 * raw text (comments included) and parses events as the WHATWG algorithm does, ids included.
 */
export class SseTestClient {
  readonly events: ReceivedEvent[] = [];
  raw = '';
  readonly ended: Promise<void>;
  private buffer = '';
  private waiters: (() => void)[] = [];

  private constructor(readonly response: IncomingMessage) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => this.receive(chunk));
    this.ended = new Promise((resolve) => response.once('close', resolve));
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<SseTestClient> {
    return new Promise((resolve, reject) => {
      get(url, { headers }, (response) => resolve(new SseTestClient(response))).on('error', reject);
    });
  }

  get status(): number | undefined {
    return this.response.statusCode;
  }

  /** Resolves once `count` events in all have arrived. */
  async waitForEvents(count: number): Promise<ReceivedEvent[]> {
    await this.until(() => this.events.length >= count);
    return this.events.slice(0, count);
  }

  /** Resolves once the raw text received satisfies `predicate`. */
  async waitForRaw(predicate: (raw: string) => boolean): Promise<void> {
    await this.until(() => predicate(this.raw));
  }

  /** The id of the last event received, as an `EventSource` would send it back. */
  get lastEventId(): string | undefined {
    return this.events.at(-1)?.id;
  }

  close(): void {
    this.response.destroy();
  }

  private async until(done: () => boolean): Promise<void> {
    while (!done()) await new Promise<void>((resolve) => this.waiters.push(resolve));
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
    for (const wake of this.waiters.splice(0)) wake();
  }
}

function parseBlock(block: string): ReceivedEvent | undefined {
  let data: string[] | undefined;
  const event: ReceivedEvent = { event: 'message', data: '' };
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') (data ??= []).push(value);
    else if (field === 'event') event.event = value;
    else if (field === 'id') event.id = value;
  }
  if (data === undefined) return undefined;
  event.data = data.join('\n');
  return event;
}

/** `[event, data, id]` of each event, for compact expectations. */
export function summary(events: ReceivedEvent[]): [string, string, string | undefined][] {
  return events.map((e) => [e.event, e.data, e.id]);
}

/** Dispatches `types` (payload: the type) to a listener over REST, in order. */
export async function dispatchAll(api: supertest.Agent, channelId: string, listenerId: string, types: string[]) {
  for (const type of types) {
    await api.post(`/channels/${channelId}/listeners/${listenerId}/messages`).send({ type, payload: type }).expect(202);
  }
}

/** Adds a listener over REST and returns its id. */
export async function addListener(api: supertest.Agent, channelId: string): Promise<string> {
  return (await api.post(`/channels/${channelId}/listeners`).expect(201)).body.id as string;
}

/** Resolves the next time the listener stops (its stream's client left). */
export function stopped(listener: { onStop(callback: () => void): () => void }): Promise<void> {
  return new Promise((resolve) => listener.onStop(resolve));
}
