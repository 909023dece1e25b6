/**
 * The fault suite's HTTP calls and its publisher: broadcasts and dispatches sent with an `Idempotency-Key`
 * (one UUID per logical message), each attempt bounded by a timeout, retried with the same key on a 503
 * (any 5xx, 409 or 429), on a timeout and on a connection error, alternating instances, until one
 * answers 2xx. Only a message whose call eventually answered 2xx is acknowledged.
 */
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';

export interface HttpAnswer {
  status: number;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
}

/** No answer (status line) within the bound: the call hung. */
export class CallTimeout extends Error {
  constructor(
    readonly url: string,
    readonly timeoutMs: number,
  ) {
    super(`no answer from ${url} within ${timeoutMs} ms`);
    this.name = 'CallTimeout';
  }
}

export interface HttpCallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** The call is abandoned (the request destroyed) and `CallTimeout` thrown after this. Default 5000 ms. */
  timeoutMs?: number;
  agent?: Agent | false;
}

/** One HTTP call with a JSON body; rejects with `CallTimeout` or the connection error. */
export function httpCall(method: string, url: string, options: HttpCallOptions = {}): Promise<HttpAnswer> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
  const headers: Record<string, string> = { ...options.headers };
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(payload.length);
  }
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outcome();
    };
    const req = request(url, { method, headers, agent: options.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (error) => settle(() => reject(error)));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = text === '' ? undefined : JSON.parse(text);
        } catch {
          // not JSON: kept as text
        }
        settle(() => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      });
    });
    const timer = setTimeout(() => {
      settle(() => reject(new CallTimeout(url, timeoutMs)));
      req.destroy();
    }, timeoutMs);
    req.on('error', (error) => settle(() => reject(error)));
    req.end(payload);
  });
}

export interface PublishOutcome {
  acked: boolean;
  attempts: number;
  /** The last status answered (2xx when acknowledged). */
  status?: number;
  body?: unknown;
  error?: string;
}

export interface PublisherOptions {
  /** The instances' REST base URLs (`http://host:port/eric-sse`); attempts alternate between them. */
  baseUrls: readonly string[];
  /** The bound on one attempt. Default 5000 ms. */
  timeoutMs?: number;
  /** Pause before a retry. Default 25 ms. */
  retryDelayMs?: number;
  /** A message not acknowledged after this long is given up (not acknowledged). Default 60 s. */
  giveUpAfterMs?: number;
}

export class Publisher {
  /** Logical messages sent (each with its own key). */
  messages = 0;
  attempts = 0;
  retries = 0;
  /** Attempts with no answer within the bound. */
  unanswered = 0;
  connectionErrors = 0;
  /** Messages refused with a status that is not retried (a 4xx but 409 and 429). */
  rejected = 0;
  /** Messages given up (never acknowledged). */
  givenUp = 0;
  /** Answers by status. */
  readonly statuses = new Map<number, number>();
  /** The slowest answer, in ms. */
  slowestAnswerMs = 0;
  /** 2xx answers saying the key was seen before (`Idempotent-Replayed: true`): nothing was queued again. */
  replayed = 0;
  /** When each unanswered attempt was sent (Date.now()). */
  readonly unansweredAt: number[] = [];
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 16 });
  private readonly timeoutMs: number;
  private readonly retryDelayMs: number;
  private readonly giveUpAfterMs: number;
  private turn = 0;
  private stopped = false;

  constructor(private readonly options: PublisherOptions) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.retryDelayMs = options.retryDelayMs ?? 25;
    this.giveUpAfterMs = options.giveUpAfterMs ?? 60_000;
  }

  broadcast(channelId: string, type: string, payload: unknown): Promise<PublishOutcome> {
    return this.send(`/channels/${encodeURIComponent(channelId)}/broadcast`, { type, payload });
  }

  dispatch(channelId: string, listenerId: string, type: string, payload: unknown): Promise<PublishOutcome> {
    const path = `/channels/${encodeURIComponent(channelId)}/listeners/${encodeURIComponent(listenerId)}/messages`;
    return this.send(path, { type, payload });
  }

  /** Retries stop (a message in flight is given up after its current attempt); the sockets are closed. */
  close(): void {
    this.stopped = true;
    this.agent.destroy();
  }

  private async send(path: string, body: { type: string; payload: unknown }): Promise<PublishOutcome> {
    this.messages++;
    const key = randomUUID();
    const started = Date.now();
    const { baseUrls } = this.options;
    let last: Omit<PublishOutcome, 'acked' | 'attempts'> = {};
    for (let attempt = 1; ; attempt++) {
      if (attempt > 1) this.retries++;
      this.attempts++;
      const base = baseUrls[this.turn++ % baseUrls.length];
      const sent = Date.now();
      try {
        const answer = await httpCall('POST', base + path, {
          body,
          headers: { 'idempotency-key': key },
          timeoutMs: this.timeoutMs,
          agent: this.agent,
        });
        this.slowestAnswerMs = Math.max(this.slowestAnswerMs, Date.now() - sent);
        this.statuses.set(answer.status, (this.statuses.get(answer.status) ?? 0) + 1);
        last = { status: answer.status, body: answer.body };
        if (answer.status >= 200 && answer.status < 300) {
          if (answer.headers['idempotent-replayed'] === 'true') this.replayed++;
          return { acked: true, attempts: attempt, ...last };
        }
        if (!retryable(answer.status)) {
          this.rejected++;
          return { acked: false, attempts: attempt, ...last };
        }
      } catch (error) {
        if (error instanceof CallTimeout) {
          this.unanswered++;
          this.unansweredAt.push(sent);
        } else this.connectionErrors++;
        last = { error: error instanceof Error ? error.message : String(error) };
      }
      if (this.stopped || Date.now() - started > this.giveUpAfterMs) {
        this.givenUp++;
        return { acked: false, attempts: attempt, ...last };
      }
      await new Promise((resolve) => setTimeout(resolve, this.retryDelayMs));
    }
  }
}

function retryable(status: number): boolean {
  return status >= 500 || status === 409 || status === 429;
}
