import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { getEricLogger, setEricLogger } from '../core/logger.js';
import { ChannelContainer } from '../servers/channel-container.js';
import { ERIC_SSE_BACKEND } from './backend-token.js';
import type { EricSseBackend } from './create-backend.js';
import { toEricLogger } from './nest-eric-logger.js';
import { OnMessageListeners } from './on-message/on-message-listeners.js';

/**
 * Points the core's logger at Nest's while the module lives, ends every stream on shutdown, then
 * releases the backend (closes the Redis connections).
 */
@Injectable()
export class EricSseLifecycle implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly ericLogger = toEricLogger(new Logger('EricSse'));

  constructor(
    private readonly container: ChannelContainer,
    private readonly listeners: OnMessageListeners,
    @Inject(ERIC_SSE_BACKEND) private readonly backend: EricSseBackend,
  ) {}

  onModuleInit(): void {
    setEricLogger(this.ericLogger);
  }

  /**
   * Stops every listener of every channel, which ends every stream (and so every SSE response), then
   * waits for the `@OnMessage` loops to finish the message they are on. Runs before the HTTP server closes.
   */
  async beforeApplicationShutdown(): Promise<void> {
    for (const channelId of this.container.getAllIds()) {
      for (const { listener } of this.container.get(channelId).getConnections()) listener.stop();
    }
    await this.listeners.stopAll();
  }

  /** Runs after the HTTP server and the microservices closed: nothing uses the backend any more. */
  async onApplicationShutdown(): Promise<void> {
    try {
      await this.backend.close();
    } finally {
      if (getEricLogger() === this.ericLogger) setEricLogger();
    }
  }
}
