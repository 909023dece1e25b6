import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A fresh directory for socket files; `remove()` deletes it. */
export async function tempSocketDir(): Promise<{ path: (name?: string) => string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'eric-sock-'));
  return { path: (name = 'eric.sock') => join(dir, name), remove: () => rm(dir, { recursive: true, force: true }) };
}

export function connect(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    const fail = (error: Error): void => {
      // Settle only once the failed socket is released, so no handle outlives the call.
      if (socket.closed) reject(error);
      else socket.once('close', () => reject(error));
    };
    socket.once('connect', () => {
      socket.off('error', fail);
      resolve(socket);
    });
    socket.once('error', fail);
  });
}

/** Resolves with everything the server sends until it ends its side. */
export function readAll(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.once('error', reject);
  });
}

/** What the Python SocketClient does: write the bytes, half-close, read the answer to EOF. */
export async function exchangeRaw(path: string, bytes: string | Buffer): Promise<string> {
  const socket = await connect(path);
  const answer = readAll(socket);
  socket.end(bytes);
  try {
    return await answer;
  } finally {
    await closeSocket(socket);
  }
}

/** Reads lines as they arrive on a stream connection. */
export class LineReader {
  private pending = '';
  private readonly lines: string[] = [];
  private waiting: (() => void) | undefined;
  ended = false;
  readonly closed: Promise<void>;

  constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.pending += chunk;
      let index: number;
      while ((index = this.pending.indexOf('\n')) !== -1) {
        this.lines.push(this.pending.slice(0, index + 1));
        this.pending = this.pending.slice(index + 1);
      }
      this.waiting?.();
    });
    socket.on('end', () => {
      this.ended = true;
      this.waiting?.();
    });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /** The next full line, including its `\n`; undefined once the server ended the stream. */
  async next(): Promise<string | undefined> {
    while (this.lines.length === 0 && !this.ended) {
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
    return this.lines.shift();
  }

  /** What came after the last line break, when the stream ended. */
  rest(): string {
    return this.pending;
  }
}

export async function openStream(path: string, command: string): Promise<LineReader> {
  const socket = await connect(path);
  const reader = new LineReader(socket);
  socket.end(command);
  return reader;
}

/** Resolves once `check` is true, re-checking on each turn of the event loop (no fixed sleeps). */
export async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Socket and server handles open in this process, by kind (Jest's own timers vary, so they are left out). */
export function liveHandles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of process.getActiveResourcesInfo()) {
    if (/Pipe|TCP/.test(name)) counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

/** Destroys the socket and resolves once its handle is released. */
export async function closeSocket(socket: Socket): Promise<void> {
  if (socket.closed) return;
  const closed = new Promise((resolve) => socket.once('close', resolve));
  socket.destroy();
  await closed;
}
