import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AbstractChannel } from '../core/channel.js';
import type { Connection } from '../core/connection.js';
import { getEricLogger } from '../core/logger.js';
import { assertNonNegativeNumber } from '../core/validate.js';
import type { EncodedSseEvent } from './encoded-sse-event.js';
import { keepAlive, type KeepAliveTarget } from './keep-alive.js';
import { FrameBatch } from './frame-batch.js';
import { DEFAULT_MAX_BATCH_BYTES, ListenerPump, type SseEventId, type SseSink } from './listener-pump.js';
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

/** Writes the SSE status line and headers now, and tunes the socket for small, frequent writes. */
export function writeSseHead(req: IncomingMessage, res: ServerResponse): void {
  const socket = req.socket;
  const http2 = req.httpVersionMajor >= 2;
  if (!http2) {
    socket.setNoDelay(true);
    socket.setTimeout(0);
    socket.setKeepAlive(true);
  }
  // Connection is hop-by-hop, forbidden in HTTP/2.
  res.writeHead(200, http2 ? HTTP2_SSE_RESPONSE_HEADERS : SSE_RESPONSE_HEADERS);
  res.flushHeaders();
}

/**
 * Writes each batch of frames to the response in one write: per event, its `id:` line (made per
 * listener) and the body shared by every listener (see `EncodedSseEvent`), framed as HTTP chunks when the
 * writer bypasses `res.write`.
 */
class ResponseSink implements SseSink, KeepAliveTarget {
  private readonly batch: FrameBatch;
  private wroteSinceBeat = false;
  private full = false;
  private stopDrain: (() => void) | undefined;
  private stopKeepAlive: (() => void) | undefined;

  constructor(
    private readonly res: ServerResponse,
    private readonly writer: ResponseWriter,
  ) {
    this.batch = new FrameBatch(writer.chunked);
  }

  /** Resumes `pump` whenever the client catches up, and beats every `keepAliveMs` (0: never). */
  attach(pump: ListenerPump, keepAliveMs: number): void {
    this.stopDrain = this.writer.onDrain(() => {
      this.full = false;
      pump.resume();
    });
    if (keepAliveMs > 0) this.stopKeepAlive = keepAlive(this, keepAliveMs);
  }

  /** Stops listening to the response and its socket, which may serve other requests afterwards. */
  detach(): void {
    this.stopDrain?.();
    this.stopKeepAlive?.();
    this.stopDrain = this.stopKeepAlive = undefined;
  }

  write(event: EncodedSseEvent, id: SseEventId | undefined): void {
    this.batch.add(event.bytes, id);
  }

  flush(): boolean {
    const chunk = this.batch.take();
    if (chunk === undefined) return !this.full;
    this.wroteSinceBeat = true;
    this.full = !this.writer.write(chunk);
    return !this.full;
  }

  beat(): void {
    if (!this.wroteSinceBeat && !this.full) this.full = !this.writer.writeKeepAlive();
    this.wroteSinceBeat = false;
  }

  end(): void {
    this.detach();
    this.res.end();
  }

  fail(error: unknown): void {
    getEricLogger().error('SSE stream failed; response ended', error);
    this.end();
  }
}

/**
 * Streams a listener to a Node HTTP response (headers included) until the listener stops, which ends
 * the response, or the client goes away. `onClose` is called once the response is closed either way,
 * with `true` when the client left while streaming (the caller then stops or removes the listener).
 * Returns undefined, and starts nothing, when the response is already closed.
 */
export function streamListenerToResponse(
  req: IncomingMessage,
  res: ServerResponse,
  channel: AbstractChannel,
  connection: Connection,
  frames: SseFrameCache,
  onClose: (clientLeft: boolean) => void,
  options: SseResponseOptions & SseResumeOptions = {},
): ListenerPump | undefined {
  const interval = assertNonNegativeNumber(
    options.keepAliveMilliseconds ?? DEFAULT_KEEP_ALIVE_MILLISECONDS,
    'keepAliveMilliseconds',
  );
  if (res.destroyed || res.writableEnded || req.socket.destroyed) return undefined;
  writeSseHead(req, res);
  const sink = new ResponseSink(res, new ResponseWriter(res));
  const pump = new ListenerPump(channel, connection, sink, frames, DEFAULT_MAX_BATCH_BYTES, options.history);
  sink.attach(pump, interval);
  res.once('close', () => {
    sink.detach();
    onClose(pump.close());
  });
  pump.start(options.lastEventId);
  return pump;
}
