import { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { SSE_KEEP_ALIVE_FRAME } from './sse-frame.js';

const KEEP_ALIVE_BYTES = Buffer.from(SSE_KEEP_ALIVE_FRAME, 'utf8');
const KEEP_ALIVE_CHUNK = Buffer.from(`${KEEP_ALIVE_BYTES.length.toString(16)}\r\n${SSE_KEEP_ALIVE_FRAME}\r\n`, 'utf8');
const nodeWrite = ServerResponse.prototype.write;

/**
 * Writes bytes to a Node HTTP response whose headers are sent.
 *
 * When the response is an HTTP/1.1 chunked body on its own socket, and its `write` is Node's own (no
 * middleware, such as compression, wraps it), the caller makes the HTTP chunks itself (`chunked`) and
 * they go straight to the socket: one socket write per batch, where `res.write` takes four corked writes
 * and a tick, and every property access on an Express response (whose prototype Express swaps) costs
 * more. Node still ends the body (`res.end()` writes the last chunk). Otherwise bytes go through
 * `res.write`.
 */
export class ResponseWriter {
  private readonly socket: Socket | undefined;

  constructor(private readonly res: ServerResponse) {
    const socket = res.socket;
    const direct =
      socket !== null && res.headersSent && res.chunkedEncoding && res.write === nodeWrite && !socket.destroyed;
    this.socket = direct ? socket : undefined;
  }

  /** True when what is written must be whole HTTP/1.1 chunks (`<size in hex>\r\n<bytes>\r\n`), bypassing `res.write`. */
  get chunked(): boolean {
    return this.socket !== undefined;
  }

  /** Writes bytes (whole chunks when `chunked`); false when the client is behind (wait for `onDrain`). */
  write(bytes: Buffer): boolean {
    return this.socket === undefined ? this.res.write(bytes) : this.socket.write(bytes);
  }

  writeKeepAlive(): boolean {
    return this.write(this.socket === undefined ? KEEP_ALIVE_BYTES : KEEP_ALIVE_CHUNK);
  }

  /** Calls `callback` each time the client has caught up; returns a function that stops it. */
  onDrain(callback: () => void): () => void {
    // Writes that bypass res.write never make the response emit 'drain': the socket does.
    const emitter = this.socket ?? this.res;
    emitter.on('drain', callback);
    return () => emitter.removeListener('drain', callback);
  }
}
