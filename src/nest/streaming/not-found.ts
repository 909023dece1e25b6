import { NotFoundException } from '@nestjs/common';
import type { AbstractChannel } from '../../core/channel.js';
import type { Connection } from '../../core/connection.js';
import { InvalidChannelException, InvalidListenerException } from '../../core/errors.js';
import type { ChannelContainer } from '../../servers/channel-container.js';

/** A 404 whose JSON body names the library error: `{ statusCode: 404, error: 'InvalidChannelException', message }`. */
export function notFound(error: InvalidChannelException | InvalidListenerException): NotFoundException {
  return new NotFoundException({ statusCode: 404, error: error.name, message: error.message }, { cause: error });
}

/** The channel, or a 404 naming `InvalidChannelException`. */
export function channelOrNotFound(container: ChannelContainer, channelId: string): AbstractChannel {
  try {
    return container.get(channelId);
  } catch (error) {
    if (error instanceof InvalidChannelException) throw notFound(error);
    throw error;
  }
}

/** `channelOrNotFound` for a channel held here or in the container's store (another instance's). */
export async function resolveChannelOrNotFound(
  container: ChannelContainer,
  channelId: string,
): Promise<AbstractChannel> {
  try {
    return await container.resolve(channelId);
  } catch (error) {
    if (error instanceof InvalidChannelException) throw notFound(error);
    throw error;
  }
}

/** `connectionOrNotFound` for a listener attached here or registered by another instance. */
export async function resolveConnectionOrNotFound(channel: AbstractChannel, listenerId: string): Promise<Connection> {
  try {
    return await channel.resolveConnection(listenerId);
  } catch (error) {
    if (error instanceof InvalidListenerException || error instanceof InvalidChannelException) throw notFound(error);
    throw error;
  }
}

/** The listener's connection, or a 404 naming `InvalidListenerException`. */
export function connectionOrNotFound(channel: AbstractChannel, listenerId: string): Connection {
  try {
    return channel.getConnection(listenerId);
  } catch (error) {
    if (error instanceof InvalidListenerException) throw notFound(error);
    throw error;
  }
}
