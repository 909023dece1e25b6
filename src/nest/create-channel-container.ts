import { InvalidChannelException } from '../core/errors.js';
import type { AbstractChannel } from '../core/channel.js';
import { ChannelContainer } from '../servers/channel-container.js';
import type { EricSseBackend, EricSseChannelKind, EricSseChannelSettings } from './create-backend.js';
import type { ResolvedEricSseOptions } from './eric-sse-module-options.js';

/**
 * The container the module provides: the configured channels, plus the `@OnMessage` channel if not among
 * them. On a shared backend each is taken from it when another instance (or an earlier run) made it.
 */
export async function createChannelContainer(
  options: ResolvedEricSseOptions,
  backend: EricSseBackend,
): Promise<ChannelContainer> {
  const container = new ChannelContainer(backend.channelStore, {
    maxChannels: options.limits.maxChannels === Infinity ? 0 : options.limits.maxChannels,
  });
  for (const { id, streamDelaySeconds, retryTimeoutMilliseconds } of options.channels) {
    await openChannel(container, backend, 'sse', { id, streamDelaySeconds, retryTimeoutMilliseconds });
  }
  await openChannel(container, backend, 'distributed-application', { id: options.onMessageChannel });
  return container;
}

/**
 * The channel with this id: held by the container, else stored (shared backend), else made and added.
 * Two instances opening one id at once both end up with the stored channel.
 */
export async function openChannel(
  container: ChannelContainer,
  backend: EricSseBackend,
  kind: EricSseChannelKind,
  settings: EricSseChannelSettings & { id: string },
): Promise<AbstractChannel> {
  if (container.has(settings.id)) return container.get(settings.id);
  if (container.store !== undefined) {
    const stored = await resolveOrUndefined(container, settings.id);
    if (stored !== undefined) return stored;
  }
  const channel = backend.createChannel(kind, settings);
  try {
    await container.add(channel);
    return channel;
  } catch (error) {
    if (error instanceof InvalidChannelException && container.store !== undefined) {
      return container.resolve(settings.id); // another instance made it meanwhile
    }
    throw error;
  }
}

async function resolveOrUndefined(container: ChannelContainer, id: string): Promise<AbstractChannel | undefined> {
  try {
    return await container.resolve(id);
  } catch (error) {
    if (error instanceof InvalidChannelException) return undefined;
    throw error;
  }
}
