import { chmod, lstat, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { InvalidConfigurationException } from '../../core/errors.js';
import { getEricLogger } from '../../core/logger.js';
import { assertInteger, assertNonEmptyString } from '../../core/validate.js';
import { ChannelContainer } from '../channel-container.js';
import { SocketCommandHandler, type SocketCommandHandlerOptions } from './socket-command-handler.js';
import {
  resolveSocketConnectionOptions,
  SocketConnection,
  type ResolvedSocketConnectionOptions,
  type SocketConnectionOptions,
} from './socket-connection.js';
import { SocketPathInUseException } from './socket-errors.js';
import { claimSocketPath, errorCode } from './socket-path.js';

export interface SocketServerOptions extends SocketCommandHandlerOptions, SocketConnectionOptions {
  /** The channels the server acts on. Default: a new, empty container. */
  container?: ChannelContainer;
  /** Permissions of the socket file. Default 0o600: only the owner may connect. */
  socketFileMode?: number;
}

/**
 * The eric socket server on a Unix domain socket: one JSON command per connection (see SPEC §4),
 * answered through a `SocketCommandHandler` over `container`.
 */
export class SocketServer {
  readonly path: string;
  readonly container: ChannelContainer;
  readonly handler: SocketCommandHandler;
  private readonly connectionOptions: ResolvedSocketConnectionOptions;
  private readonly socketFileMode: number;
  private readonly connections = new Set<SocketConnection>();
  private server: Server | undefined;
  private starting = false;
  private socketFileInode: number | undefined;

  constructor(path: string, options: SocketServerOptions = {}) {
    this.path = assertNonEmptyString(path, 'path');
    this.container = options.container ?? new ChannelContainer();
    this.handler = new SocketCommandHandler(this.container, options);
    this.connectionOptions = resolveSocketConnectionOptions(options);
    this.socketFileMode = resolveSocketFileMode(options.socketFileMode);
  }

  /** Creates a server on `path` and starts it; resolves once it is listening. */
  static async start(path: string, options?: SocketServerOptions): Promise<SocketServer> {
    const server = new SocketServer(path, options);
    await server.main();
    return server;
  }

  get listening(): boolean {
    return this.server !== undefined;
  }

  /**
   * Starts listening; resolves once the socket file exists with its mode set. A stale socket file is
   * replaced; a live server on the path rejects with `SocketPathInUseException`.
   */
  async main(): Promise<void> {
    if (this.server !== undefined || this.starting) {
      throw new InvalidConfigurationException(`SocketServer on ${this.path} is already started`);
    }
    this.starting = true;
    try {
      await claimSocketPath(this.path);
      const server = createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
      await listen(server, this.path);
      try {
        await chmod(this.path, this.socketFileMode);
        this.socketFileInode = (await lstat(this.path)).ino;
      } catch (error) {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        throw error;
      }
      server.on('error', (error) => getEricLogger().error(`socket server on ${this.path} failed`, error));
      this.server = server;
    } finally {
      this.starting = false;
    }
  }

  /** Stops accepting, ends open streams cleanly, waits for every connection to close, removes the socket file. */
  async shutdown(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    const connections = [...this.connections];
    for (const connection of connections) connection.close();
    await Promise.all([stopped, ...connections.map((connection) => connection.closed)]);
    await this.removeSocketFile();
  }

  private accept(socket: Socket): void {
    const connection: SocketConnection = new SocketConnection(socket, this.handler, this.connectionOptions, () =>
      this.connections.delete(connection),
    );
    this.connections.add(connection);
  }

  /** Node removes the file when the server closes; this covers the rest, never touching another server's file. */
  private async removeSocketFile(): Promise<void> {
    try {
      if ((await lstat(this.path)).ino === this.socketFileInode) await unlink(this.path);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
    }
  }
}

/** The socket file's permissions: 0o600 unless given; anything but an integer in 0..0o777 is refused. */
export function resolveSocketFileMode(mode: number | undefined): number {
  const resolved = assertInteger(mode ?? 0o600, 'socketFileMode', 0);
  if (resolved > 0o777) {
    throw new InvalidConfigurationException(`socketFileMode must be <= 0o777, got 0o${resolved.toString(8)}`);
  }
  return resolved;
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      reject(
        errorCode(error) === 'EADDRINUSE'
          ? new SocketPathInUseException(`A server is already listening on ${path}`)
          : error,
      );
    };
    server.once('error', onError);
    server.listen(path, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
