import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { createConnection } from 'node:net';
import { InvalidConfigurationException } from '../../core/errors.js';
import { defaultSocketPath } from '../../servers/socket/default-socket-path.js';
import { errorFromAnswer } from '../../servers/socket/error-answer.js';
import { SocketClient } from '../../servers/socket/socket-client.js';

export interface EricSocketClientOptions {
  /** The socket file of the `EricSocketTransport` to talk to. Default: `defaultSocketPath()`. */
  path?: string;
}

/**
 * A `ClientProxy` for an `EricSocketTransport`, for
 * `ClientsModule.register([{ name, customClass: EricSocketClientProxy, options: { path } }])`.
 *
 * `send(pattern, data)` reaches the server's `@MessagePattern` handler and emits each value it answers
 * (parsed from JSON); `emit(pattern, data)` runs its `@EventPattern` handlers and completes once the server
 * took the event. Each is one connection. The eric verbs go through `eric`, a `SocketClient` on the same
 * path: `client.eric.broadcastMessage(channelId, 'news', payload)`. An error the server answers arrives as
 * an error named as the server named it (`RpcException`, `InvalidChannelException`, ...).
 */
export class EricSocketClientProxy extends ClientProxy {
  readonly path: string;
  /** The eric verbs: `createChannel`, `register`, `broadcastMessage`, `dispatch`, `stream`, `watch`, ... */
  readonly eric: SocketClient;

  constructor(options: EricSocketClientOptions = {}) {
    super();
    if (typeof options !== 'object' || options === null) {
      throw new InvalidConfigurationException('EricSocketClientProxy options must be an object');
    }
    this.eric = new SocketClient(options.path ?? defaultSocketPath());
    this.path = this.eric.path;
  }

  /** Nothing to open: every command has its own connection. */
  connect(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {}

  /** The `SocketClient` behind `eric`. */
  unwrap<T = SocketClient>(): T {
    return this.eric as T;
  }

  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    const socket = createConnection(this.path);
    let pending = '';
    let settled = false;
    const settle = (last: WritePacket): void => {
      if (settled) return;
      settled = true;
      callback(last);
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      pending += chunk;
      let lineBreak: number;
      while ((lineBreak = pending.indexOf('\n')) !== -1) {
        const line = pending.slice(0, lineBreak);
        pending = pending.slice(lineBreak + 1);
        const parsed = parseAnswer(line);
        if ('err' in parsed) {
          settle(parsed);
          socket.destroy();
          return;
        }
        callback(parsed);
      }
    });
    socket.once('end', () => {
      socket.destroy();
      if (pending === '') return settle({ isDisposed: true });
      const parsed = parseAnswer(pending);
      settle('err' in parsed ? parsed : { ...parsed, isDisposed: true });
    });
    socket.once('error', (error) => {
      settle({ err: error });
      socket.destroy();
    });
    socket.end(JSON.stringify(commandOf(packet, false)));
    return () => socket.destroy();
  }

  protected async dispatchEvent<T = unknown>(packet: ReadPacket): Promise<T> {
    await this.eric.sendPayload(commandOf(packet, true));
    return undefined as T;
  }
}

/** The wire form of a packet: `{"pattern", "data"}`, with `metadata` when set and `"event": true` for `emit`. */
function commandOf(packet: ReadPacket, event: boolean): Record<string, unknown> {
  const command: Record<string, unknown> = { pattern: packet.pattern, data: packet.data };
  if (packet.metadata !== undefined) command.metadata = packet.metadata;
  if (event) command.event = true;
  return command;
}

/** One line (or the whole answer) of a `send`: a JSON value, or an error answer. */
function parseAnswer(text: string): WritePacket {
  const error = errorFromAnswer(text);
  if (error !== undefined) return { err: error };
  try {
    return { response: JSON.parse(text) as unknown };
  } catch {
    return { err: new Error(`Unexpected answer from the eric socket server: ${text.slice(0, 200)}`) };
  }
}
