import {
  HttpException,
  Inject,
  Injectable,
  Optional,
  type BeforeApplicationShutdown,
  type MessageEvent,
} from '@nestjs/common';
import { getEricLogger } from '../../core/logger.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Observable, type Subscriber } from 'rxjs';
import type { AbstractChannel } from '../../core/channel.js';
import type { Connection } from '../../core/connection.js';
import { ChannelContainer } from '../../servers/channel-container.js';
import { keepAlive } from '../../sse/keep-alive.js';
import { ListenerPump } from '../../sse/listener-pump.js';
import { SseFrameCache } from '../../sse/sse-frame-cache.js';
import { lastEventIdOf, type ListenerHistory, type SseHistory } from '../../sse/sse-history.js';
import { answerJsonError, streamListenerToResponse, type SseResponseOptions } from '../../sse/sse-response.js';
import { RESOLVED } from '../../core/resolved.js';
import { assertNonNegativeNumber } from '../../core/validate.js';
import { restErrorBody } from '../rest/rest-exception.filter.js';
import {
  channelOrNotFound,
  connectionOrNotFound,
  resolveChannelOrNotFound,
  resolveConnectionOrNotFound,
} from './not-found.js';
import {
  defaultStreamingSettings,
  ERIC_SSE_STREAMING,
  resumeIdOf,
  type EricSseStreamingSettings,
  type ResumeFrom,
} from './streaming-settings.js';
import { SubscriberSink } from './subscriber-sink.js';

/**
 * Streams channel listeners over HTTP, two ways:
 *
 * - `events` / `watchEvents` return an `Observable<MessageEvent>` for your own `@Sse()` handlers;
 * - `pipe` / `pipeWatch` write SSE frames straight to the response (`@Res()`), the fast path: no
 *   per-event RxJS or stream machinery, and a client that stops reading leaves its messages in its
 *   listener's queue instead of in server memory.
 *
 * Either way a message is serialized once, however many listeners it was broadcast to; a listener is
 * started when its stream opens and stopped when the client goes away, and messages sent meanwhile wait
 * in its queue for the next stream. Unknown ids are a 404 (`NotFoundException` whose body names
 * `InvalidChannelException` or `InvalidListenerException`), thrown before anything is sent.
 *
 * Every event carries an `id:` line, the listener's event id (1, 2, 3..., shared by every instance on
 * Redis), and is kept in the listener's replay history (module option `history`). A client reconnecting
 * with `Last-Event-ID` (or `?lastEventId=`) gets what it missed first, in order and once: what the history
 * holds after that id, then the queue. When some of it is gone (older than the history), the stream
 * starts with a `MESSAGE_TYPE_HISTORY_GAP` event; an id the listener never gave (malformed, or from the
 * future) is ignored. A watch stream is a fresh listener: it numbers its events but resumes nothing.
 * Idle streams get a keep-alive comment every `keepAliveMilliseconds` (module option, default 15 s).
 *
 * On a shared backend (Redis) a channel or listener another instance made is looked up asynchronously:
 * `pipe` then returns a promise (return it from the handler), and `openEvents` / `openWatchEvents`
 * resolve to the Observable (`events` / `watchEvents` still work, but report an unknown id as an
 * Observable error, after Nest may have sent the headers).
 */
@Injectable()
export class EricSseStreams implements BeforeApplicationShutdown {
  /** The encodings shared by every stream of this service; `hits` / `misses` show the reuse. */
  readonly frames = new SseFrameCache();
  /** The listeners' event ids and replay histories; undefined with `history: false` (no ids, no replay). */
  readonly history: SseHistory | undefined;
  private readonly keepAliveMilliseconds: number;
  private readonly open = new Set<ListenerPump>();

  constructor(
    private readonly channels: ChannelContainer,
    @Optional() @Inject(ERIC_SSE_STREAMING) settings?: EricSseStreamingSettings,
  ) {
    const { history, keepAliveMilliseconds } = settings ?? defaultStreamingSettings();
    this.history = history;
    this.keepAliveMilliseconds = keepAliveMilliseconds;
  }

  /**
   * The events of an existing listener, for an `@Sse()` handler:
   * `@Sse(':c/:l') stream(@Param('c') c: string, @Param('l') l: string) { return this.streams.events(c, l); }`.
   * Each `MessageEvent` has `type` (the event), `data` (strings as they are, anything else as JSON
   * text), `retry` and `id` (the listener's event id); an idle stream gets comment-only events
   * (`{ comment: '' }`, written by Nest as a keep-alive comment). Subscribing starts the listener;
   * unsubscribing (the client went away) stops it. The Observable completes when the listener is stopped
   * server-side.
   *
   * `resumeFrom` is where a reconnecting client resumes: pass the request (`@Req()`: its `Last-Event-ID`
   * header, else its `lastEventId` query parameter) or the id itself (`@Headers('last-event-id')`).
   * @throws NotFoundException for an unknown channel or listener, at once, so Nest answers 404 JSON.
   */
  events(channelId: string, listenerId: string, resumeFrom?: ResumeFrom): Observable<MessageEvent> {
    const lastEventId = resumeIdOf(resumeFrom);
    if (this.heldHere(channelId, listenerId) === undefined) {
      return new Observable<MessageEvent>((subscriber) => {
        let teardown: (() => void) | undefined;
        let ended = false;
        this.resolve(channelId, listenerId).then(
          ({ channel, connection }) => {
            if (!ended) teardown = this.subscribeListener(subscriber, channel, connection, lastEventId);
          },
          (error: unknown) => subscriber.error(error),
        );
        return () => {
          ended = true;
          teardown?.();
        };
      });
    }
    return new Observable<MessageEvent>((subscriber) => {
      let channel: AbstractChannel;
      let connection: Connection;
      try {
        channel = channelOrNotFound(this.channels, channelId);
        connection = connectionOrNotFound(channel, listenerId);
      } catch (error) {
        subscriber.error(error); // removed between the call and the subscription
        return;
      }
      return this.subscribeListener(subscriber, channel, connection, lastEventId);
    });
  }

  /**
   * `events` for any backend: resolves once the channel and listener are found (made by this instance or
   * another), so that an `async` `@Sse()` handler answers an unknown id with a 404 before anything is sent.
   * @throws NotFoundException for an unknown channel or listener.
   */
  async openEvents(channelId: string, listenerId: string, resumeFrom?: ResumeFrom): Promise<Observable<MessageEvent>> {
    await this.resolve(channelId, listenerId);
    return this.events(channelId, listenerId, resumeFrom);
  }

  /**
   * Events for a fresh listener added to the channel for this subscription and removed when it ends
   * (the SPEC's "watch"), for an `@Sse()` handler.
   * @throws NotFoundException for an unknown channel, at once.
   */
  watchEvents(channelId: string): Observable<MessageEvent> {
    if (!this.channels.has(channelId) && this.channels.store !== undefined) {
      return new Observable<MessageEvent>((subscriber) => {
        let teardown: (() => void) | undefined;
        let ended = false;
        resolveChannelOrNotFound(this.channels, channelId).then(
          (channel) => {
            if (!ended) teardown = this.watchChannel(subscriber, channel);
          },
          (error: unknown) => subscriber.error(error),
        );
        return () => {
          ended = true;
          teardown?.();
        };
      });
    }
    const channel = channelOrNotFound(this.channels, channelId);
    return new Observable<MessageEvent>((subscriber) => this.watchChannel(subscriber, channel));
  }

  /**
   * `watchEvents` for any backend, registering the listener first: it resolves once the channel is found
   * (made by this instance or another) and the fresh listener is registered, so everything sent to the
   * channel from then on reaches the subscriber. Subscribe to it (return it from the handler): the
   * listener is removed when the subscription ends.
   * @throws NotFoundException for an unknown channel.
   */
  async openWatchEvents(channelId: string): Promise<Observable<MessageEvent>> {
    const channel = await resolveChannelOrNotFound(this.channels, channelId);
    const listener = await channel.addListener();
    const connection = channel.getConnection(listener.id);
    let subscribed = false;
    return new Observable<MessageEvent>((subscriber) => {
      if (subscribed) {
        subscriber.error(new Error('A watch Observable streams one subscriber; call openWatchEvents again'));
        return;
      }
      subscribed = true;
      const teardown = this.subscribeListener(subscriber, channel, connection, undefined);
      return () => {
        teardown();
        removeQuietly(channel, listener.id);
      };
    });
  }

  /** Adds a listener for this subscriber, streams it, and removes it when the subscription ends. */
  private watchChannel(subscriber: Subscriber<MessageEvent>, channel: AbstractChannel): () => void {
    let pump: ListenerPump | undefined;
    let listenerId: string | undefined;
    let stopKeepAlive: (() => void) | undefined;
    let ended = false;
    channel.addListener().then(
      (listener) => {
        listenerId = listener.id;
        if (ended) return removeQuietly(channel, listener.id);
        const connection = channel.getConnection(listener.id);
        const sink = new SubscriberSink(subscriber);
        pump = this.track(this.pumpFor(channel, connection, sink));
        stopKeepAlive = this.keepAlive(sink);
        pump.start();
      },
      (error: unknown) => subscriber.error(error),
    );
    return () => {
      ended = true;
      stopKeepAlive?.();
      if (pump !== undefined) {
        this.open.delete(pump);
        pump.close();
      }
      if (listenerId !== undefined) removeQuietly(channel, listenerId);
    };
  }

  /** Streams a connection to an Observable subscriber; the returned teardown stops the listener. */
  private subscribeListener(
    subscriber: Subscriber<MessageEvent>,
    channel: AbstractChannel,
    connection: Connection,
    lastEventId: number | undefined,
  ): () => void {
    const sink = new SubscriberSink(subscriber);
    const pump = this.track(this.pumpFor(channel, connection, sink));
    const stopKeepAlive = this.keepAlive(sink);
    pump.start(lastEventId);
    return () => {
      stopKeepAlive();
      this.open.delete(pump);
      if (pump.close()) connection.listener.stop();
    };
  }

  /** A pump numbering its events with the listener's history. */
  private pumpFor(channel: AbstractChannel, connection: Connection, sink: SubscriberSink): ListenerPump {
    const history = this.historyOf(channel, connection);
    return new ListenerPump({ channel, connection, sink, frames: this.frames, history });
  }

  private historyOf(channel: AbstractChannel, connection: Connection): ListenerHistory | undefined {
    return this.history?.forListener(channel, connection);
  }

  /** Beats `sink` every `keepAliveMilliseconds` (not at all when 0) until the returned function is called. */
  private keepAlive(sink: SubscriberSink): () => void {
    return this.keepAliveMilliseconds > 0 ? keepAlive(sink, this.keepAliveMilliseconds) : () => undefined;
  }

  /**
   * Streams an existing listener straight to the response; for a handler taking `@Req()` and `@Res()`
   * (Express or plain `node:http`). A reconnecting client resumes from its `Last-Event-ID` header (or
   * `lastEventId` query parameter); `options.keepAliveMilliseconds` overrides the module's spacing:
   * `@Get(':c/:l') stream(@Param('c') c: string, @Param('l') l: string, @Req() req: Request, @Res() res: Response) { return this.streams.pipe(req, res, c, l); }`.
   * Sends the SSE headers with the stream's resume point, starts the listener, writes queued messages in
   * batches, and waits for `drain` whenever the client is behind. The client leaving stops the listener;
   * the listener stopping (shutdown, `removeListener`) ends the response.
   *
   * Errors are answered here, before any header is sent, as JSON `{ statusCode, error, message }`: 404
   * for an unknown channel or listener (on any backend: a shared one is looked up first), 503 when the
   * backend cannot be reached. The promise resolves once the stream is open or the error is answered;
   * it never rejects, so a handler that does not return it cannot crash the app.
   * @throws InvalidConfigurationException for bad `options`, at once (a programming error).
   */
  pipe(
    req: IncomingMessage,
    res: ServerResponse,
    channelId: string,
    listenerId: string,
    options?: SseResponseOptions,
  ): Promise<void> {
    const keepAliveMilliseconds = this.keepAliveOf(options);
    const held = this.heldHereOrUndefined(channelId, listenerId);
    if (held !== undefined) {
      this.pipeConnection(req, res, held.channel, held.connection, keepAliveMilliseconds);
      return RESOLVED;
    }
    return this.resolve(channelId, listenerId).then(
      ({ channel, connection }) => this.pipeConnection(req, res, channel, connection, keepAliveMilliseconds),
      (error: unknown) => answerError(res, error),
    );
  }

  private pipeConnection(
    req: IncomingMessage,
    res: ServerResponse,
    channel: AbstractChannel,
    connection: Connection,
    keepAliveMilliseconds: number,
  ): void {
    const pump = streamListenerToResponse({
      req,
      res,
      channel,
      connection,
      frames: this.frames,
      onClose: (clientLeft) => {
        this.open.delete(pump as ListenerPump);
        if (clientLeft) connection.listener.stop();
      },
      keepAliveMilliseconds,
      history: this.historyOf(channel, connection),
      lastEventId: lastEventIdOf(req),
    });
    if (pump !== undefined) this.track(pump);
  }

  /**
   * `pipe` for a fresh listener added to the channel for this response and removed when it ends. The
   * listener is added before anything is sent, so what is sent to the channel once the headers are out
   * reaches it. Errors are answered here as `pipe` does (404 unknown channel, 409
   * `TooManyListenersException`, 503 backend unreachable); the promise never rejects.
   * @throws InvalidConfigurationException for bad `options`, at once (a programming error).
   */
  pipeWatch(req: IncomingMessage, res: ServerResponse, channelId: string, options?: SseResponseOptions): Promise<void> {
    const keepAliveMilliseconds = this.keepAliveOf(options);
    return this.watchToResponse(req, res, channelId, keepAliveMilliseconds).catch((error: unknown) =>
      answerError(res, error),
    );
  }

  private async watchToResponse(
    req: IncomingMessage,
    res: ServerResponse,
    channelId: string,
    keepAliveMilliseconds: number,
  ): Promise<void> {
    const channel = await resolveChannelOrNotFound(this.channels, channelId);
    const listener = await channel.addListener();
    const connection = channel.getConnection(listener.id);
    let pump: ListenerPump | undefined;
    try {
      pump = streamListenerToResponse({
        req,
        res,
        channel,
        connection,
        frames: this.frames,
        onClose: () => {
          this.open.delete(pump as ListenerPump);
          removeQuietly(channel, listener.id);
        },
        keepAliveMilliseconds,
        history: this.historyOf(channel, connection),
      });
    } finally {
      if (pump === undefined) removeQuietly(channel, listener.id); // the client left meanwhile
    }
    if (pump !== undefined) this.track(pump);
  }

  /** The keep-alive spacing of a response stream: `options`, else the module's; validated. */
  private keepAliveOf(options: SseResponseOptions | undefined): number {
    return assertNonNegativeNumber(
      options?.keepAliveMilliseconds ?? this.keepAliveMilliseconds,
      'keepAliveMilliseconds',
    );
  }

  /** How many streams of this service are open. */
  get openStreams(): number {
    return this.open.size;
  }

  /** Stops the listener of every stream still open, which ends its response or Observable. */
  beforeApplicationShutdown(): void {
    for (const pump of [...this.open]) pump.connection.listener.stop();
    this.open.clear();
  }

  /**
   * The channel and connection when this instance holds both; else undefined when the container has a
   * store to look them up in; else the 404, thrown at once (without a store there is nowhere else to look).
   */
  private heldHere(
    channelId: string,
    listenerId: string,
  ): { channel: AbstractChannel; connection: Connection } | undefined {
    const held = this.heldHereOrUndefined(channelId, listenerId);
    if (held !== undefined || this.channels.store !== undefined) return held;
    const found = channelOrNotFound(this.channels, channelId);
    return { channel: found, connection: connectionOrNotFound(found, listenerId) };
  }

  /** The channel and connection when this instance holds both, else undefined (look them up). */
  private heldHereOrUndefined(
    channelId: string,
    listenerId: string,
  ): { channel: AbstractChannel; connection: Connection } | undefined {
    const channel = this.channels.has(channelId) ? this.channels.get(channelId) : undefined;
    if (channel === undefined || !channel.hasListener(listenerId)) return undefined;
    return { channel, connection: channel.getConnection(listenerId) };
  }

  private async resolve(
    channelId: string,
    listenerId: string,
  ): Promise<{ channel: AbstractChannel; connection: Connection }> {
    const channel = await resolveChannelOrNotFound(this.channels, channelId);
    return { channel, connection: await resolveConnectionOrNotFound(channel, listenerId) };
  }

  private track(pump: ListenerPump): ListenerPump {
    this.open.add(pump);
    return pump;
  }
}

/** Answers what looking up or opening a response stream threw, as the REST endpoints would. */
function answerError(res: ServerResponse, error: unknown): void {
  const { statusCode, ...body } = restErrorBody(error instanceof HttpException ? (error.cause ?? error) : error);
  if (statusCode >= 500 && statusCode !== 503) getEricLogger().error('Opening an SSE stream failed', error);
  answerJsonError(res, statusCode, body);
}

function removeQuietly(channel: AbstractChannel, listenerId: string): void {
  if (channel.hasListener(listenerId)) channel.removeListener(listenerId).catch(() => undefined);
}
