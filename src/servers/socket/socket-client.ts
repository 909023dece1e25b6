import { once } from 'node:events';
import { createConnection } from 'node:net';
import type { Payload } from '../../core/message.js';
import { assertNonEmptyString } from '../../core/validate.js';
import { errorFromAnswer } from './error-answer.js';
import { pythonJsonDumps } from './python-json.js';
import type { SocketCommand } from './socket-command.js';
import { errorCode } from './socket-path.js';

/** Options of `SocketClient.dispatch` and `broadcastMessage`. */
export interface SocketPublishOptions {
  /**
   * Sent as `k`: the server queues a repeat of this key on the channel (within its idempotency window)
   * only once, answering `ack` each time. A server without idempotency (the original) ignores it.
   */
  idempotencyKey?: string;
}

/**
 * A little facade over the eric socket protocol, as the original's `SocketClient`: one connection per
 * command, written as Python's `json.dumps` would and half-closed. An error the server answers
 * (`InvalidChannelException('...')`) rejects with an error of that name.
 */
export class SocketClient {
  readonly path: string;

  constructor(path: string) {
    this.path = assertNonEmptyString(path, 'path');
  }

  /** Sends any command and returns the server's whole answer. */
  async sendPayload(payload: SocketCommand): Promise<string> {
    const answer = await this.exchange(pythonJsonDumps(payload));
    const error = errorFromAnswer(answer);
    if (error !== undefined) throw error;
    return answer;
  }

  /** Creates a channel; returns its id. */
  createChannel(): Promise<string> {
    return this.sendPayload({ v: 'c' });
  }

  /** Adds a listener to a channel; returns its id. */
  register(channelId: string): Promise<string> {
    return this.sendPayload({ v: 'r', c: channelId });
  }

  /**
   * Starts a listener and yields one JSON line (without its line break) per event, until the server ends
   * the stream. Leaving the loop closes the connection, which stops the listener on the server.
   */
  stream(channelId: string, listenerId: string): AsyncGenerator<string, void, undefined> {
    return this.openStream({ c: channelId, r: listenerId, v: 'l' });
  }

  /** Like `stream`, on a new listener the server adds for this connection and removes when it closes. */
  watch(channelId: string): AsyncGenerator<string, void, undefined> {
    return this.openStream({ v: 'w', c: channelId });
  }

  broadcastMessage(
    channelId: string,
    messageType: string,
    payload?: Payload,
    options?: SocketPublishOptions,
  ): Promise<string> {
    return this.sendPayload(withKey({ v: 'b', c: channelId, t: messageType, p: payload ?? null }, options));
  }

  dispatch(
    channelId: string,
    receiverId: string,
    messageType: string,
    payload?: Payload,
    options?: SocketPublishOptions,
  ): Promise<string> {
    return this.sendPayload(
      withKey({ v: 'd', c: channelId, r: receiverId, t: messageType, p: payload ?? null }, options),
    );
  }

  removeListener(channelId: string, listenerId: string): Promise<string> {
    return this.sendPayload({ v: 'rl', c: channelId, r: listenerId });
  }

  removeChannel(channelId: string): Promise<string> {
    return this.sendPayload({ v: 'rc', c: channelId });
  }

  private exchange(command: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(this.path);
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      socket.once('error', (error) => {
        // The server may answer and close before taking all of an oversized command.
        const code = errorCode(error);
        if (chunks.length > 0 && (code === 'EPIPE' || code === 'ECONNRESET')) {
          resolve(Buffer.concat(chunks).toString('utf8'));
        } else {
          reject(error);
        }
        socket.destroy();
      });
      socket.end(command);
    });
  }

  private async *openStream(command: SocketCommand): AsyncGenerator<string, void, undefined> {
    const socket = createConnection(this.path);
    try {
      await once(socket, 'connect');
      socket.end(pythonJsonDumps(command));
      socket.setEncoding('utf8');
      let pending = '';
      for await (const chunk of socket as AsyncIterable<string>) {
        pending += chunk;
        let lineBreak: number;
        while ((lineBreak = pending.indexOf('\n')) !== -1) {
          const line = pending.slice(0, lineBreak);
          pending = pending.slice(lineBreak + 1);
          yield line.endsWith('\r') ? line.slice(0, -1) : line;
        }
      }
      if (pending !== '') {
        const error = errorFromAnswer(pending);
        if (error !== undefined) throw error;
        yield pending;
      }
    } finally {
      socket.destroy();
    }
  }
}

/** The command with `k` when an idempotency key is given; as the original client sends it otherwise. */
function withKey(command: SocketCommand, options: SocketPublishOptions | undefined): SocketCommand {
  const key = options?.idempotencyKey;
  return key === undefined ? command : { ...command, k: key };
}
