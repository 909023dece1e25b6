import type { Socket } from 'node:net';
import { InvalidMessageFormat } from '../../core/errors.js';
import { getEricLogger } from '../../core/logger.js';
import { assertInteger, assertNonNegativeNumber } from '../../core/validate.js';
import { formatErrorAnswer } from './error-answer.js';
import { IdleSweeper, type IdleWatch } from './idle-sweeper.js';
import type { SocketAnswer, SocketCommandHandler } from './socket-command-handler.js';

export interface SocketConnectionOptions {
  /** Largest command accepted, in bytes; a bigger one is refused as soon as it passes the limit. Default 1 MiB. */
  maxCommandBytes?: number;
  /** A client that has not half-closed after this long without sending is answered and closed. 0 disables. Default 30 s. */
  idleTimeoutMs?: number;
  /**
   * How often an idle stream checks that its client is still there (a zero-byte write: nothing reaches
   * the wire). A client that left is noticed within this time even if no event is flowing. Default 1 s.
   */
  streamProbeIntervalMs?: number;
}

export type ResolvedSocketConnectionOptions = Required<SocketConnectionOptions>;

export function resolveSocketConnectionOptions(options: SocketConnectionOptions = {}): ResolvedSocketConnectionOptions {
  return {
    maxCommandBytes: assertInteger(options.maxCommandBytes ?? 1024 * 1024, 'maxCommandBytes', 1),
    idleTimeoutMs: assertNonNegativeNumber(options.idleTimeoutMs ?? 30_000, 'idleTimeoutMs'),
    streamProbeIntervalMs: assertInteger(options.streamProbeIntervalMs ?? 1000, 'streamProbeIntervalMs', 1),
  };
}

const EMPTY = Buffer.alloc(0);

/**
 * Serves one connection of the eric socket protocol: reads one command up to the client's half-close
 * (within the size and idle limits), answers it through the handler, and closes. A streamed answer is
 * written line by line with backpressure; the stream is ended as soon as the client goes away.
 */
export class SocketConnection {
  private phase: 'reading' | 'answering' | 'streaming' | 'done' = 'reading';
  private chunks: Buffer[] = [];
  private received = 0;
  private stream: AsyncIterator<string> | undefined;
  private wake: (() => void) | undefined;
  private closeRequested = false;
  private readonly sweeper: IdleSweeper | undefined;
  private idle: IdleWatch | undefined;
  private released = false;
  private closedPromise: Promise<void> | undefined;
  private resolveClosed: (() => void) | undefined;

  constructor(
    readonly socket: Socket,
    private readonly handler: SocketCommandHandler,
    private readonly options: ResolvedSocketConnectionOptions,
    /** Called once the socket is closed and any stream it served is released. */
    private readonly onClosed?: () => void,
  ) {
    socket.once('close', () => void this.onClose());
    socket.on('error', (error) => getEricLogger().debug(`socket connection error: ${error.message}`));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('timeout', () => socket.destroy());
    if (options.idleTimeoutMs > 0) {
      this.sweeper = IdleSweeper.for(options.idleTimeoutMs);
      this.idle = this.sweeper.watch(() => this.onIdle());
    }
  }

  /** Settles once the socket is closed and any stream it served is released. */
  get closed(): Promise<void> {
    if (this.released) return Promise.resolve();
    return (this.closedPromise ??= new Promise((resolve) => (this.resolveClosed = resolve)));
  }

  /** For server shutdown: a stream ends cleanly, a command still being read is dropped. */
  close(): void {
    this.closeRequested = true;
    if (this.phase === 'reading' || (this.phase === 'done' && this.socket.writableLength === 0)) {
      this.socket.destroy();
      return;
    }
    if (this.phase === 'streaming') void this.stream?.return?.();
    this.wake?.();
    // A client that stopped reading must not hold the shutdown forever.
    this.socket.setTimeout(this.options.idleTimeoutMs > 0 ? this.options.idleTimeoutMs : 30_000);
  }

  private onData(chunk: Buffer): void {
    if (this.phase !== 'reading') return; // past the limit: the rest is discarded, never buffered
    this.received += chunk.length;
    if (this.idle !== undefined) this.sweeper?.touch(this.idle);
    if (this.received > this.options.maxCommandBytes) {
      this.chunks = [];
      this.phase = 'done';
      this.stopIdleWatch();
      this.socket.end(
        formatErrorAnswer(new InvalidMessageFormat(`Command exceeds ${this.options.maxCommandBytes} bytes`)),
      );
      return;
    }
    this.chunks.push(chunk);
  }

  private onEnd(): void {
    if (this.phase !== 'reading') return;
    this.phase = 'answering';
    this.stopIdleWatch();
    const raw = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.received);
    this.chunks = [];
    this.handler
      .handleRaw(raw)
      .then(
        (answer) => this.answer(answer),
        (error: unknown) => this.finish(formatErrorAnswer(error)),
      )
      .catch((error: unknown) => {
        getEricLogger().error('socket connection failed', error);
        this.socket.destroy();
      });
  }

  private onIdle(): void {
    this.idle = undefined;
    if (this.phase !== 'reading') return;
    this.phase = 'done';
    this.chunks = [];
    const error = new InvalidMessageFormat(`No complete command within ${this.options.idleTimeoutMs} ms`);
    this.socket.end(formatErrorAnswer(error), () => this.socket.destroy());
  }

  private stopIdleWatch(): void {
    if (this.idle === undefined) return;
    this.sweeper?.unwatch(this.idle);
    this.idle = undefined;
  }

  private answer(answer: SocketAnswer): Promise<void> | void {
    if (typeof answer === 'string') return this.finish(answer);
    return this.streamLines(answer);
  }

  private finish(text: string): void {
    this.phase = 'done';
    if (!this.socket.destroyed) this.socket.end(text);
  }

  private async streamLines(lines: AsyncIterable<string>): Promise<void> {
    this.phase = 'streaming';
    const stream = lines[Symbol.asyncIterator]();
    this.stream = stream;
    const probe = setInterval(() => this.probe(), this.options.streamProbeIntervalMs);
    probe.unref();
    let failure: unknown;
    try {
      while (!this.socket.destroyed && !this.closeRequested) {
        const line = await stream.next();
        if (line.done === true || this.socket.destroyed) break;
        if (!this.socket.write(line.value)) await this.drained();
      }
    } catch (error) {
      failure = error;
    } finally {
      clearInterval(probe);
      await stream.return?.();
    }
    if (failure !== undefined) getEricLogger().error('socket stream failed', failure);
    this.finish(failure === undefined ? '' : formatErrorAnswer(failure));
  }

  /** Resolves on 'drain', on close, or when shutdown asks the stream to end. */
  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.wake = undefined;
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.wake = done;
      this.socket.once('drain', done);
      this.socket.once('close', done);
    });
  }

  /** A zero-byte write fails with EPIPE once the peer has gone, which closes the socket. */
  private probe(): void {
    if (!this.socket.destroyed && this.socket.writableLength === 0) this.socket.write(EMPTY);
  }

  private async onClose(): Promise<void> {
    this.phase = 'done';
    this.chunks = [];
    this.stopIdleWatch();
    try {
      await this.stream?.return?.();
    } catch (error) {
      getEricLogger().error('socket stream failed to close', error);
    }
    this.released = true;
    this.resolveClosed?.();
    this.onClosed?.();
  }
}
