import { createConnection, type Socket } from 'node:net';
import { withDeadline } from './deadline.js';

/**
 * One command as the original client sends it: connect, write, half-close, read to the server's end.
 * Rejects if the server does not answer and close within the deadline, or closes without a word.
 * (A server that answers and closes before taking the whole command may reset the write: the answer
 * read so far counts.)
 */
export function exchange(path: string, bytes: Buffer, what: string): Promise<string> {
  const socket = createConnection(path);
  const answer = new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let ended = false;
    let failure: Error | undefined;
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('end', () => (ended = true));
    socket.on('error', (error) => (failure ??= error));
    socket.once('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (ended || text !== '') resolve(text);
      else reject(new Error(`${what}: connection closed without an answer (${failure?.message ?? 'no error'})`));
    });
  });
  socket.end(bytes);
  return withDeadline(answer, what, () => socket.destroy());
}

/** A stream command's connection (`l`, `w`): its lines as they come, and a close that waits for the socket. */
export class StreamConnection {
  private pending = '';
  private readonly lines: string[] = [];
  private wake: (() => void) | undefined;
  private ended = false;
  private readonly closed: Promise<void>;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.pending += chunk;
      let index: number;
      while ((index = this.pending.indexOf('\n')) !== -1) {
        this.lines.push(this.pending.slice(0, index + 1));
        this.pending = this.pending.slice(index + 1);
      }
      this.wake?.();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.ended = true;
        this.wake?.();
        resolve();
      }),
    );
    socket.once('end', () => {
      this.ended = true;
      this.wake?.();
    });
  }

  static open(path: string, bytes: Buffer): StreamConnection {
    const socket = createConnection(path);
    socket.end(bytes);
    return new StreamConnection(socket);
  }

  /** The next whole line (with its `\n`), or undefined once the server ended the connection. */
  async nextLine(what: string): Promise<string | undefined> {
    const wait = async (): Promise<string | undefined> => {
      while (this.lines.length === 0 && !this.ended) await new Promise<void>((resolve) => (this.wake = resolve));
      return this.lines.shift();
    };
    return withDeadline(wait(), what);
  }

  /** What the server sent after its last line break, once it ended (an error answer has none). */
  async rest(what: string): Promise<string> {
    await withDeadline(this.closed, what);
    return this.pending;
  }

  async close(): Promise<void> {
    this.socket.destroy();
    await this.closed;
  }
}
