import {
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { getEricLogger, setEricLogger } from '../core/logger.js';
import { ChannelContainer } from '../servers/channel-container.js';
import { toEricLogger } from './nest-eric-logger.js';
import { OnMessageListeners } from './on-message/on-message-listeners.js';

/** Points the core's logger at Nest's while the module lives, and ends every stream on shutdown. */
@Injectable()
export class EricSseLifecycle implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly ericLogger = toEricLogger(new Logger('EricSse'));

  constructor(
    private readonly container: ChannelContainer,
    private readonly listeners: OnMessageListeners,
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

  onApplicationShutdown(): void {
    if (getEricLogger() === this.ericLogger) setEricLogger();
  }
}
