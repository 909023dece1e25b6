/**
 * An SSE client that behaves as a browser `EventSource` does (WHATWG HTML, "Server-sent events"), over
 * `node:http`, with faults on demand: the fault suite's listeners.
 *
 * - Parsing follows "Interpreting an event stream": UTF-8 (one leading BOM ignored), lines ending in CRLF,
 *   LF or CR (a CR at the end of one chunk and an LF at the start of the next are one line end), `:`
 *   comments, `field: value` (one leading space stripped), a line without a colon a field with an empty
 *   value. `data` appends to the data buffer, `event` sets the type, `id` sets the last event ID buffer
 *   (ignored when it contains NUL), `retry` (ASCII digits only) sets the reconnection time at once; other
 *   fields are ignored. A blank line dispatches: the last event ID string takes the buffer's value first,
 *   then an empty data buffer dispatches nothing (so an id-only event moves `lastEventId` without an
 *   event), else the event goes out with its trailing LF removed and type `message` unless set.
 *   What a connection ends in the middle of (a partial line, a block without its blank line) is dropped.
 * - The last event ID is the one the client has SEEN: it changes only when a block is dispatched, and
 *   carries over to the next connection (as browsers keep it); it is sent as `Last-Event-ID` only when
 *   not empty.
 * - Reconnecting: after the connection drops, the server ends the response, or connecting fails (refused,
 *   reset: an instance down), the client waits `min(reconnection time, maxReconnectMs)` and connects
 *   again, for as long as it is not closed. A browser gives up on a response that is not a 200
 *   `text/event-stream`; this client counts that (`notEventStream`) and reconnects all the same, as an
 *   application recreating its EventSource would, so that the suite goes on checking what it receives.
 */
import { request, type ClientRequest, type IncomingMessage } from 'node:http';

export interface DispatchedEvent {
  type: string;
  data: string;
  lastEventId: string;
}

/** Parses one event stream as "Interpreting an event stream" says; the state a reconnection keeps is `lastEventId`. */
export class EventStreamParser {
  /** The last event ID string: what a reconnection sends as `Last-Event-ID`. */
  lastEventId = '';
  /** The reconnection time, in milliseconds, as the stream last set it (`retry`). */
  reconnectionTime: number;
  private lastEventIdBuffer = '';
  private data = '';
  private eventType = '';
  private line = '';
  /** The previous chunk ended with CR: an LF starting the next one belongs to that line end. */
  private afterCr = false;
  private decoder = new TextDecoder('utf-8');

  constructor(
    private readonly dispatch: (event: DispatchedEvent) => void,
    initialReconnectionTime = 3000,
  ) {
    this.reconnectionTime = initialReconnectionTime;
  }

  /**
   * Starts a new stream (a new connection): its bytes are decoded afresh (a leading BOM is ignored), and
   * what the previous one left unfinished is dropped. The last event ID carries over.
   */
  reset(): void {
    this.decoder = new TextDecoder('utf-8'); // ignoreBOM false: one leading BOM is stripped
    this.line = '';
    this.afterCr = false;
    this.data = '';
    this.eventType = '';
    this.lastEventIdBuffer = this.lastEventId;
  }

  /** Feeds bytes of the stream; `active` is checked before each line (a connection dropped meanwhile stops it). */
  feedBytes(bytes: Uint8Array, active: () => boolean = () => true): void {
    this.feed(this.decoder.decode(bytes, { stream: true }), active);
  }

  /** Feeds decoded text (tests feed text directly). */
  feed(text: string, active: () => boolean = () => true): void {
    let start = 0;
    if (this.afterCr && text.length > 0) {
      this.afterCr = false;
      if (text.charCodeAt(0) === 0x0a) start = 1;
    }
    for (let i = start; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 0x0a && c !== 0x0d) continue;
      const line = this.line + text.slice(start, i);
      this.line = '';
      if (c === 0x0d) {
        if (i + 1 < text.length) {
          if (text.charCodeAt(i + 1) === 0x0a) i++;
        } else {
          this.afterCr = true;
        }
      }
      start = i + 1;
      if (!active()) return;
      this.processLine(line);
    }
    this.line += text.slice(start);
  }

  private processLine(line: string): void {
    if (line === '') return this.dispatchEvent();
    if (line.charCodeAt(0) === 0x3a) return; // ':' comment
    const colon = line.indexOf(':');
    let field: string;
    let value: string;
    if (colon === -1) {
      field = line;
      value = '';
    } else {
      field = line.slice(0, colon);
      value = line.slice(colon + 1);
      if (value.charCodeAt(0) === 0x20) value = value.slice(1);
    }
    switch (field) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        this.data += value + '\n';
        break;
      case 'id':
        if (!value.includes('\0')) this.lastEventIdBuffer = value;
        break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) this.reconnectionTime = parseInt(value, 10);
        break;
      default:
        break;
    }
  }

  private dispatchEvent(): void {
    this.lastEventId = this.lastEventIdBuffer;
    if (this.data === '') {
      this.eventType = '';
      return;
    }
    const data = this.data.endsWith('\n') ? this.data.slice(0, -1) : this.data;
    const type = this.eventType === '' ? 'message' : this.eventType;
    this.data = '';
    this.eventType = '';
    this.dispatch({ type, data, lastEventId: this.lastEventId });
  }
}

/**
 * When a connection is dropped on purpose early, as a network failure would: `on-connect`, as soon as it
 * is connected (the server may not have read the request); `after-head`, right after the segment that
 * brought the response head, whose bytes the client has parsed, as a browser parses whatever it received
 * (nothing sent after it arrives).
 */
export type ConnectDrop = 'on-connect' | 'after-head';

/** How a connection ended. */
export type ConnectionEnd = 'server-ended' | 'network-error' | 'dropped' | 'not-event-stream' | 'closed';

/** One connection of a `FaultEventSource`, for the checker's diagnosis. */
export interface ConnectionRecord {
  index: number;
  url: string;
  /** The `Last-Event-ID` it sent; undefined when it sent none. */
  sentLastEventId: string | undefined;
  startedAt: number;
  /** Milliseconds until the response head (or the failure to connect); undefined while waiting. */
  answeredAfterMs?: number;
  status?: number;
  /** Events dispatched on it. */
  events: number;
  /** The last event ID as its first event was dispatched. */
  firstEventId?: string;
  /** The drop armed for it (`random`: `drop()` while it was open). */
  drop?: ConnectDrop | 'random';
  end?: ConnectionEnd;
  error?: string;
}

export interface ReceivedEvent extends DispatchedEvent {
  /** The index of the connection it came on. */
  connection: number;
}

export interface FaultEventSourceOptions {
  /** The URL of connection number `attempt` (0, 1, 2...): a client may move to another instance. */
  url: (attempt: number) => string;
  onEvent?: (event: ReceivedEvent) => void;
  /** The cap on the reconnection time, for the test. Default 50 ms. */
  maxReconnectMs?: number;
  /** A response head (or a failure to connect) later than this counts in `slowAnswers`. Default 5000 ms. */
  answerBoundMs?: number;
}

export class FaultEventSource {
  readonly parser: EventStreamParser;
  readonly connections: ConnectionRecord[] = [];
  /** Connections whose head (or failure) came later than the bound, or never came before `close()`. */
  slowAnswers = 0;
  /** Responses a browser would have given up on (not a 200 `text/event-stream`). */
  notEventStream = 0;
  networkErrors = 0;
  serverEnded = 0;
  drops = 0;
  private readonly maxReconnectMs: number;
  private readonly answerBoundMs: number;
  private running = false;
  private current: { record: ConnectionRecord; request: ClientRequest; done: boolean } | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private armed: ConnectDrop | undefined;
  private openWaiters: (() => void)[] = [];

  constructor(private readonly options: FaultEventSourceOptions) {
    this.maxReconnectMs = options.maxReconnectMs ?? 50;
    this.answerBoundMs = options.answerBoundMs ?? 5000;
    this.parser = new EventStreamParser((event) => this.onDispatch(event));
  }

  get lastEventId(): string {
    return this.parser.lastEventId;
  }

  /** Whether a 200 event stream is open now. */
  get open(): boolean {
    return this.current !== undefined && !this.current.done && this.current.record.status === 200;
  }

  /** Connects (again, after `close()`), keeping the last event ID. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  /** Stops for good (until `start()`): no reconnection. */
  close(): void {
    this.running = false;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const current = this.current;
    if (current !== undefined && !current.done) {
      if (current.record.answeredAfterMs === undefined && Date.now() - current.record.startedAt > this.answerBoundMs) {
        this.slowAnswers++;
      }
      this.finish(current, 'closed');
      current.request.destroy();
    }
  }

  /** Drops the connection now, at whatever point it is (connecting, head received, mid-event...). */
  drop(): void {
    const current = this.current;
    if (current === undefined || current.done) return;
    current.record.drop ??= 'random';
    this.drops++;
    this.finish(current, 'dropped');
    current.request.destroy();
  }

  /** Drops the next connection (or the one being made, if nothing has arrived on it yet) at `mode`. */
  dropNextConnect(mode: ConnectDrop): void {
    this.armed = mode;
  }

  /** Resolves once a 200 event stream is open. */
  whenOpen(): Promise<void> {
    if (this.open) return Promise.resolve();
    return new Promise((resolve) => this.openWaiters.push(resolve));
  }

  private connect(): void {
    this.reconnectTimer = undefined;
    if (!this.running) return;
    const index = this.connections.length;
    const url = this.options.url(index);
    const lastEventId = this.parser.lastEventId;
    const record: ConnectionRecord = {
      index,
      url,
      sentLastEventId: lastEventId === '' ? undefined : lastEventId,
      startedAt: Date.now(),
      events: 0,
    };
    this.connections.push(record);
    const drop = this.armed;
    this.armed = undefined;
    if (drop !== undefined) record.drop = drop;
    this.parser.reset();
    const headers: Record<string, string> = { accept: 'text/event-stream', 'cache-control': 'no-cache' };
    if (record.sentLastEventId !== undefined) headers['last-event-id'] = record.sentLastEventId;
    // A connection of its own, as a browser's stream has: dropping it drops nothing else.
    const req = request(url, { agent: false, headers });
    const connection = { record, request: req, done: false };
    this.current = connection;
    const answered = (): void => {
      if (record.answeredAfterMs !== undefined) return;
      record.answeredAfterMs = Date.now() - record.startedAt;
      if (record.answeredAfterMs > this.answerBoundMs) this.slowAnswers++;
    };
    const dropNow = (): void => {
      if (connection.done) return;
      this.drops++;
      this.finish(connection, 'dropped');
      req.destroy();
    };
    req.on('socket', (socket) => {
      if (drop !== 'on-connect') return;
      if (socket.connecting) socket.once('connect', dropNow);
      else dropNow();
    });
    req.on('response', (res: IncomingMessage) => {
      answered();
      record.status = res.statusCode;
      res.on('error', () => undefined);
      const eventStream = res.statusCode === 200 && /^text\/event-stream(;|$)/i.test(res.headers['content-type'] ?? '');
      if (!eventStream) {
        this.notEventStream++;
        res.resume();
        res.once('end', () => this.finish(connection, 'not-event-stream'));
        res.once('close', () => this.finish(connection, 'not-event-stream'));
        return;
      }
      this.resolveOpen();
      res.on('data', (chunk: Buffer) => {
        if (connection.done) return;
        this.parser.feedBytes(chunk, () => !connection.done);
      });
      // The body bytes that came with the head are pushed in this same read and emitted by the tick that
      // on('data') scheduled just above: this one runs after it, before anything read later.
      if (drop === 'after-head') process.nextTick(dropNow);
      res.once('end', () => this.finish(connection, 'server-ended'));
      res.once('close', () => this.finish(connection, 'network-error'));
    });
    req.on('error', (error: Error) => {
      answered();
      record.error = error.message;
      this.finish(connection, 'network-error');
    });
    req.on('close', () => this.finish(connection, 'network-error'));
    req.end();
  }

  private finish(connection: { record: ConnectionRecord; done: boolean }, end: ConnectionEnd): void {
    if (connection.done) return;
    connection.done = true;
    connection.record.end = end;
    if (end === 'network-error') this.networkErrors++;
    else if (end === 'server-ended') this.serverEnded++;
    if (!this.running || this.current !== connection) return;
    const delay = Math.min(this.parser.reconnectionTime, this.maxReconnectMs);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private onDispatch(event: DispatchedEvent): void {
    const current = this.current;
    if (current === undefined) return;
    current.record.firstEventId ??= event.lastEventId;
    current.record.events++;
    this.options.onEvent?.({ ...event, connection: current.record.index });
  }

  private resolveOpen(): void {
    const waiters = this.openWaiters;
    this.openWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
