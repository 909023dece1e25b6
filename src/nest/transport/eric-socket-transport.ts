import { Server, type CustomTransportStrategy, type MessageHandler } from '@nestjs/microservices';
import { EventEmitter } from 'node:events';
import { finalize, throwError, type Observable } from 'rxjs';
import type { AbstractChannel } from '../../core/channel.js';
import { InvalidConfigurationException, InvalidMessageFormat } from '../../core/errors.js';
import { assertNonEmptyString } from '../../core/validate.js';
import type { ChannelContainer } from '../../servers/channel-container.js';
import { ACK, type SocketAnswer } from '../../servers/socket/socket-command-handler.js';
import type { SocketCommand } from '../../servers/socket/socket-command.js';
import {
  resolveSocketConnectionOptions,
  type SocketConnectionOptions,
} from '../../servers/socket/socket-connection.js';
import { resolveSocketFileMode, SocketServer } from '../../servers/socket/socket-server.js';
import { EricSocketContext } from './eric-socket-context.js';
import { observableAnswer } from './observable-answer.js';
import {
  BIND_ERIC_SSE_TRANSPORT,
  type EricSseBindableTransport,
  type EricSseTransportBinding,
} from './transport-binding.js';

export interface EricSocketTransportOptions extends SocketConnectionOptions {
  /** The Unix socket file to listen on. */
  path: string;
  /** Permissions of the socket file. Default 0o600: only the owner may connect. */
  socketFileMode?: number;
  /**
   * The channels to serve. Default: the application's own `ChannelContainer`, which `EricSseModule`
   * hands the transport when the application connects it. Give one to use the transport without the module.
   */
  container?: ChannelContainer;
  /** Makes the channel verb `c` creates. Default: an `SSEChannel` with the module's connections factory. */
  createChannel?: () => AbstractChannel;
}

export type EricSocketTransportStatus = 'listening' | 'closed';

/** What `on()` can listen to: the transport started listening, or closed. */
export type EricSocketTransportEvents = { listening: () => void; closed: () => void };

/**
 * The eric socket server as a Nest microservice transport:
 * `app.connectMicroservice({ strategy: new EricSocketTransport({ path }) })`, then `app.startAllMicroservices()`
 * (or `NestFactory.createMicroservice(AppModule, { strategy })`).
 *
 * Commands with an eric verb (`v`) act on the application's `ChannelContainer`, the one its HTTP side
 * streams from. A command `{"pattern": ..., "data": ...}` goes to the matching `@MessagePattern` handler
 * and is answered with its result as JSON (see `observableAnswer`), or to the `@EventPattern` handlers
 * (when the pattern has those, or the command says `"event": true`), run without waiting and answered
 * `ack`. An unknown pattern is answered `InvalidMessageFormat(...)`. `app.close()` ends open streams,
 * closes the server and removes the socket file.
 */
export class EricSocketTransport
  extends Server<EricSocketTransportEvents, EricSocketTransportStatus>
  implements CustomTransportStrategy, EricSseBindableTransport
{
  readonly options: Readonly<EricSocketTransportOptions>;
  private binding: EricSseTransportBinding | undefined;
  private server: SocketServer | undefined;
  private readonly events = new EventEmitter();

  constructor(options: EricSocketTransportOptions) {
    super();
    if (typeof options !== 'object' || options === null) {
      throw new InvalidConfigurationException('EricSocketTransport needs options with a path');
    }
    assertNonEmptyString(options.path, 'path');
    resolveSocketConnectionOptions(options);
    resolveSocketFileMode(options.socketFileMode);
    this.options = { ...options };
  }

  /** Called by `EricSseModule` when the application connects this transport. */
  [BIND_ERIC_SSE_TRANSPORT](binding: EricSseTransportBinding): void {
    this.binding = binding;
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      const server = new SocketServer(this.options.path, { ...this.options, ...this.channels(), fallback: this.route });
      await server.main();
      this.server = server;
    } catch (error) {
      callback(error);
      return;
    }
    this._status$.next('listening');
    this.events.emit('listening');
    callback();
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    await server.shutdown();
    this._status$.next('closed');
    this.events.emit('closed');
  }

  on<EventKey extends keyof EricSocketTransportEvents>(
    event: EventKey,
    callback: EricSocketTransportEvents[EventKey],
  ): void {
    this.events.on(event, callback);
  }

  /** The running `SocketServer` (its `container`, `handler`, `path`). */
  unwrap<T = SocketServer>(): T {
    if (this.server === undefined) throw new InvalidConfigurationException('EricSocketTransport is not listening');
    return this.server as T;
  }

  private channels(): { container: ChannelContainer; createChannel?: () => AbstractChannel } {
    const container = this.options.container ?? this.binding?.container;
    if (container === undefined) {
      throw new InvalidConfigurationException(
        'EricSocketTransport has no ChannelContainer: import EricSseModule.forRoot() in the application, or pass { container }',
      );
    }
    return { container, createChannel: this.options.createChannel ?? this.binding?.createChannel };
  }

  /** The socket handler's fallback: commands without an eric verb. Undefined declines (no `pattern`). */
  private readonly route = (command: SocketCommand): Promise<SocketAnswer> | undefined => {
    if (!('pattern' in command)) return undefined;
    const pattern = this.getPatternAsString(command.pattern);
    const handler = this.getHandlerByPattern(pattern);
    const context = new EricSocketContext([command, pattern]);
    const isEvent = command.event === true || handler?.isEventHandler === true;
    if (handler === null) {
      const kind = isEvent ? 'event' : 'message';
      return Promise.reject(new InvalidMessageFormat(`No ${kind} handler for pattern ${pattern}`));
    }
    if (isEvent) {
      const packet = { pattern: command.pattern, data: command.data };
      this.handleEvent(pattern, packet, context).catch((error: unknown) => this.logger.error(error));
      return Promise.resolve(ACK);
    }
    return this.request(handler, command.data, context);
  };

  /** Runs a `@MessagePattern` handler between the processing hooks and answers with what it returns. */
  private request(handler: MessageHandler, data: unknown, context: EricSocketContext): Promise<SocketAnswer> {
    return new Promise<Observable<unknown>>((resolve) => {
      const started = this.runWithProcessingHooks(context, async (runEndHook) => {
        let response: Observable<unknown>;
        try {
          response = this.transformToObservable(await handler(data, context)) as Observable<unknown>;
        } catch (error) {
          response = throwError(() => error);
        }
        resolve(response.pipe(finalize(runEndHook)));
      });
      Promise.resolve(started).catch((error: unknown) => resolve(throwError(() => error)));
    }).then(observableAnswer);
  }
}
