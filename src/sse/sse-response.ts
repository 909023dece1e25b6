import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AbstractChannel } from '../core/channel.js';
import type { Connection } from '../core/connection.js';
import { RepositoryError } from '../core/errors.js';
import { getEricLogger } from '../core/logger.js';
import { assertNonNegativeNumber } from '../core/validate.js';
import type { EncodedSseEvent } from './encoded-sse-event.js';
import { keepAlive, type KeepAliveTarget } from './keep-alive.js';
import { FrameBatch } from './frame-batch.js';
import { ListenerPump, type SseEventId, type SseSink } from './listener-pump.js';
import { ResponseWriter } from './response-writer.js';
import type { SseFrameCache } from './sse-frame-cache.js';
import type { ListenerHistory } from './sse-history.js';

/** The headers of every SSE response. */
export const SSE_RESPONSE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
};

const { Connection: _hopByHop, ...HTTP2_SSE_RESPONSE_HEADERS } = SSE_RESPONSE_HEADERS;

export interface SseResponseOptions {
  /** Milliseconds without an event after which a keep-alive comment is written; 0 disables it. */
  keepAliveMilliseconds?: number;
}

/** What `streamListenerToResponse` numbers events with, and where it resumes from. */
export interface SseResumeOptions {
  /** Gives each event its `id:` line and keeps it for replay; without it events have no id. */
  history?: ListenerHistory;
  /** The id the client resumes after (see `lastEventIdOf`): what the history holds after it goes first. */
  lastEventId?: number;
}

/** Default spacing of keep-alive comments: under the 30-60 s idle timeouts common in proxies. */
export const DEFAULT_KEEP_ALIVE_MILLISECONDS = 15_000;

/**
 * Writes the SSE status line and headers, and tunes the socket for small, frequent writes. Sent at once
 * unless `cork` is true: they then go out with what is written in the same tick (one TCP segment).
 */
export function writeSseHead(req: IncomingMessage, res: ServerResponse, cork = false): void {
  const socket = req.socket;
  const http2 = req.httpVersionMajor >= 2;
  if (!http2) {
    socket.setNoDelay(true);
    socket.setTimeout(0);
    socket.setKeepAlive(true);
    if (cork) {
      socket.cork();
      process.nextTick(() => socket.uncork());
    }
  }
  // Connection is hop-by-hop, forbidden in HTTP/2.
  res.writeHead(200, http2 ? HTTP2_SSE_RESPONSE_HEADERS : SSE_RESPONSE_HEADERS);
  res.flushHeaders();
}

/**
 * Writes each batch of frames to the response in one write: per event, its `id:` line (made per
 * listener) and the body shared by every listener (see `EncodedSseEvent`), framed as HTTP chunks when the
 * writer bypasses `res.write`.
 *
 * The head goes out with the first write (the stream's resume point, or the first batch): a client that
 * got the response at all got an id to resume from. A stream that fails before that answers an error
 * status instead (503 for `RepositoryError`: the backend could not be reached).
 */
class ResponseSink implements SseSink, KeepAliveTarget {
  private writer: ResponseWriter | undefined;
  private batch: FrameBatch | undefined;
  private pump: ListenerPump | undefined;
  private keepAliveMs = 0;
  private wroteSinceBeat = false;
  private full = false;
  private stopDrain: (() => void) | undefined;
  private stopKeepAlive: (() => void) | undefined;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {}

  /** Resumes `pump` whenever the client catches up, and beats every `keepAliveMs` (0: never), once open. */
  attach(pump: ListenerPump, keepAliveMs: number): void {
    this.pump = pump;
    this.keepAliveMs = keepAliveMs;
  }

  get isOpen(): boolean {
    return this.writer !== undefined;
  }

  /** Sends the head (with what is written in this tick), and starts the drain and keep-alive wiring. */
  open(): ResponseWriter {
    if (this.writer !== undefined) return this.writer;
    writeSseHead(this.req, this.res, true);
    const writer = (this.writer = new ResponseWriter(this.res));
    this.batch = new FrameBatch(writer.chunked);
    const pump = this.pump;
    if (pump !== undefined) {
      this.stopDrain = writer.onDrain(() => {
        this.full = false;
        pump.resume();
      });
    }
    if (this.keepAliveMs > 0) this.stopKeepAlive = keepAlive(this, this.keepAliveMs);
    return writer;
  }

  /** Stops listening to the response and its socket, which may serve other requests afterwards. */
  detach(): void {
    this.stopDrain?.();
    this.stopKeepAlive?.();
    this.stopDrain = this.stopKeepAlive = undefined;
  }

  write(event: EncodedSseEvent, id: SseEventId | undefined): void {
    this.open();
    (this.batch as FrameBatch).add(event.bytes, id);
  }

  flush(): boolean {
    const chunk = this.batch?.take();
    if (chunk === undefined) return !this.full;
    this.wroteSinceBeat = true;
    this.full = !(this.writer as ResponseWriter).write(chunk);
    return !this.full;
  }

  beat(): void {
    if (!this.wroteSinceBeat && !this.full) this.full = !(this.writer as ResponseWriter).writeKeepAlive();
    this.wroteSinceBeat = false;
  }

  end(): void {
    this.open();
    this.detach();
    this.res.end();
  }

  fail(error: unknown): void {
    if (this.writer !== undefined) {
      getEricLogger().error('SSE stream failed; response ended', error);
      this.detach();
      this.res.end();
      return;
    }
    const unavailable = error instanceof RepositoryError;
    if (unavailable) getEricLogger().debug(`SSE stream not started: ${error.message}`);
    else getEricLogger().error('SSE stream failed before it started', error);
    answerJsonError(this.res, unavailable ? 503 : 500, {
      error: unavailable ? error.name : 'Internal Server Error',
      message: unavailable ? error.message : 'Internal server error',
    });
  }
}

/** Answers a JSON error body (`{ statusCode, error, message }`) unless the head is already sent. */
export function answerJsonError(
  res: ServerResponse,
  statusCode: number,
  { error, message }: { error: string; message: string },
): void {
  if (res.headersSent || res.writableEnded) {
    res.end();
    return;
  }
  res.writeHead(statusCode, { 'Content-Type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify({ statusCode, error, message }));
}

/** Where `streamListenerToResponse` writes, and what it tells its caller. */
export interface StreamToResponseOptions extends SseResponseOptions, SseResumeOptions {
  req: IncomingMessage;
  res: ServerResponse;
  channel: AbstractChannel;
  connection: Connection;
  /** The encodings shared by the streams of the caller. */
  frames: SseFrameCache;
  /**
   * Called once the response is closed either way, with `true` when the client left while streaming
   * (the caller then stops or removes the listener).
   */
  onClose: (clientLeft: boolean) => void;
}

/**
 * Streams a listener to a Node HTTP response (headers included) until the listener stops, which ends
 * the response, or the client goes away. With a history, the first thing the client gets is a resume
 * point (see `ListenerPump.start`), sent with the head. Returns undefined, and starts nothing, when the
 * response is already closed.
 */
export function streamListenerToResponse(options: StreamToResponseOptions): ListenerPump | undefined {
  const { req, res, channel, connection, frames, onClose, history } = options;
  const interval = assertNonNegativeNumber(
    options.keepAliveMilliseconds ?? DEFAULT_KEEP_ALIVE_MILLISECONDS,
    'keepAliveMilliseconds',
  );
  const socket = req.socket;
  if (res.destroyed || res.writableEnded || socket.destroyed || socket.readableEnded) return undefined;
  const sink = new ResponseSink(req, res);
  const pump = new ListenerPump({ channel, connection, sink, frames, history });
  sink.attach(pump, interval);
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    socket.off('end', clientGone);
    sink.detach();
    // A reset or broken pipe: the client did not read what was written (it had left, or data it had not
    // read was discarded); one that saw no id reconnects without one and must get it again.
    if (socket.errored !== null && socket.errored !== undefined) pump.markUnconfirmed();
    // A stream that failed before its head (answered with an error status) leaves its listener to be
    // stopped as one the client left.
    onClose(pump.close() || !sink.isOpen);
  };
  // A client that half-closes its connection (FIN) has left: an EventSource never does otherwise. Node
  // would go on writing until the connection breaks, and what it wrote meanwhile would be lost to it.
  const clientGone = (): void => {
    close();
    res.destroy();
  };
  socket.once('end', clientGone);
  res.once('close', close);
  pump.start(options.lastEventId);
  // Without a history nothing is written at start: the head goes now. With one, the resume point
  // (written now, or once a history kept elsewhere answers) carries it.
  if (history === undefined && pump.isStreaming && !sink.isOpen) sink.open();
  return pump;
}
