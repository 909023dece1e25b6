import type { ConnectionsFactory } from '../core/connection.js';
import { SimpleDistributedApplicationChannel } from '../prefabs/simple-distributed-application.js';
import { SSEChannel } from '../prefabs/sse-channel.js';
import { ChannelContainer } from '../servers/channel-container.js';
import type { ResolvedEricSseOptions } from './eric-sse-module-options.js';

/** The container the module provides: the configured channels, plus the `@OnMessage` channel if not among them. */
export function createChannelContainer(
  options: ResolvedEricSseOptions,
  connectionsFactory: ConnectionsFactory,
): ChannelContainer {
  const container = new ChannelContainer();
  for (const { id, streamDelaySeconds, retryTimeoutMilliseconds } of options.channels) {
    container.register(
      new SSEChannel({ channelId: id, streamDelaySeconds, retryTimeoutMilliseconds, connectionsFactory }),
    );
  }
  if (!container.has(options.onMessageChannel)) {
    container.register(
      new SimpleDistributedApplicationChannel({ channelId: options.onMessageChannel, connectionsFactory }),
    );
  }
  return container;
}
