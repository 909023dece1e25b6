import { Agent, request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { withDeadline } from './deadline.js';
import { SseParser, type ParsedSseEvent } from './sse-parser.js';

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpCall {
  method: string;
  /** Path and query, sent as given (so malformed escapes reach the server). */
  path: string;
  body?: Buffer;
  headers?: Record<string, string>;
  /** Sends the body in these many chunks with `Transfer-Encoding: chunked` instead of a Content-Length. */
  chunks?: number;
  /** An event stream that opens is closed at once and answered with an empty body. */
  abortStream?: boolean;
}

/** Keep-alive connections, as a browser or a proxy would reuse them; a fuzzed request may poison one. */
export const agent = new Agent({ keepAlive: true, maxSockets: 16 });

/** One HTTP exchange; rejects when the whole answer has not arrived within the deadline. */
export function httpCall(origin: string, call: HttpCall, what: string): Promise<HttpAnswer> {
  const url = new URL(origin);
  const headers: Record<string, string> = { ...call.headers };
  if (call.body !== undefined && call.chunks === undefined) headers['content-length'] = String(call.body.length);
  const req = request({
    agent,
    host: url.hostname,
    port: url.port,
    method: call.method,
    path: call.path,
    headers,
  });
  const answer = new Promise<HttpAnswer>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res: IncomingMessage) => {
      if (call.abortStream === true && /^text\/event-stream/.test(res.headers['content-type'] ?? '')) {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.alloc(0) });
        req.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
  });
  if (call.body !== undefined && call.chunks !== undefined) {
    const size = Math.ceil(call.body.length / call.chunks) || 1;
    for (let at = 0; at < call.body.length; at += size) req.write(call.body.subarray(at, at + size));
  }
  req.end(call.chunks === undefined ? call.body : undefined);
  return withDeadline(answer, what, () => req.destroy());
}

/** An SSE response read as an `EventSource` would, or the error answer in its place. */
export class SseConnection {
  readonly parser = new SseParser();
  private wake: (() => void) | undefined;
  private ended = false;
  private text = '';

  private constructor(readonly response: IncomingMessage) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      if (response.statusCode === 200) this.parser.feed(chunk);
      else this.text += chunk;
      this.wake?.();
    });
    const end = (): void => {
      this.ended = true;
      this.wake?.();
    };
    response.once('end', end);
    response.once('close', end);
    response.on('error', () => {});
  }

  static open(origin: string, path: string, what: string): Promise<SseConnection> {
    const url = new URL(origin);
    // Its own connection: a stream holds it until closed.
    const req = request({ host: url.hostname, port: url.port, path, headers: { accept: 'text/event-stream' } });
    const opened = new Promise<SseConnection>((resolve, reject) => {
      req.on('error', reject);
      req.on('response', (res) => resolve(new SseConnection(res)));
    });
    req.end();
    return withDeadline(opened, what, () => req.destroy());
  }

  get status(): number {
    return this.response.statusCode ?? 0;
  }

  /** The `count`-th event (from 1), once it has arrived; undefined if the stream ended before. */
  async event(count: number, what: string): Promise<ParsedSseEvent | undefined> {
    const wait = async (): Promise<ParsedSseEvent | undefined> => {
      while (this.parser.events.length < count && !this.ended) {
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
      return this.parser.events[count - 1];
    };
    return withDeadline(wait(), what);
  }

  /** The body of a non-200 answer. */
  async errorBody(what: string): Promise<string> {
    const wait = async (): Promise<string> => {
      while (!this.ended) await new Promise<void>((resolve) => (this.wake = resolve));
      return this.text;
    };
    return withDeadline(wait(), what);
  }

  close(): void {
    this.response.destroy();
  }
}
