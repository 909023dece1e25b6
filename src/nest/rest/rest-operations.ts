import { ConflictException } from '@nestjs/common';
import type { ConnectionsFactory } from '../../core/connection.js';
import { SSEChannel } from '../../prefabs/sse-channel.js';
import type { ChannelContainer } from '../../servers/channel-container.js';
import { decodeJsonBody } from './decode-json-body.js';
import { parseChannelSettings, parseMessageBody } from './rest-body-validation.js';
import type { RawRequestBody } from './rest-request-body.js';

export interface RestIds {
  ids: string[];
}

export interface RestCreated {
  id: string;
}

/** What broadcast and dispatch answer: the message is in the queues. */
export interface RestAck {
  status: 'ack';
  /** Broadcast only: how many listeners it was queued for. */
  listeners?: number;
}

/**
 * What the REST endpoints do, over the module's `ChannelContainer`. Unknown ids throw
 * `InvalidChannelException` / `InvalidListenerException`; each method checks everything before it
 * changes anything, and the ids are looked up before the body is decoded (so 404 wins over 400/413).
 */
export class RestOperations {
  constructor(
    private readonly container: ChannelContainer,
    private readonly connectionsFactory: ConnectionsFactory,
  ) {}

  /** Creates and registers an `SSEChannel`; a taken id is a 409 naming `InvalidChannelException`. */
  createChannel(body: RawRequestBody): RestCreated {
    const { id, streamDelaySeconds, retryTimeoutMilliseconds } = parseChannelSettings(decodeJsonBody(body));
    if (id !== undefined && this.container.has(id)) {
      throw new ConflictException({
        statusCode: 409,
        error: 'InvalidChannelException',
        message: `Channel ${id} already exists`,
      });
    }
    const channel = new SSEChannel({
      channelId: id,
      streamDelaySeconds,
      retryTimeoutMilliseconds,
      connectionsFactory: this.connectionsFactory,
    });
    this.container.register(channel);
    return { id: channel.id };
  }

  channelIds(): RestIds {
    return { ids: this.container.getAllIds() };
  }

  listenerIds(channelId: string): RestIds {
    return {
      ids: this.container
        .get(channelId)
        .getConnections()
        .map(({ listener }) => listener.id),
    };
  }

  /** Adds a listener (not started: streaming it starts it) and returns its id. */
  async subscribe(channelId: string): Promise<RestCreated> {
    const listener = await this.container.get(channelId).addListener();
    return { id: listener.id };
  }

  async broadcast(channelId: string, body: RawRequestBody): Promise<RestAck> {
    const channel = this.container.get(channelId);
    const msg = parseMessageBody(decodeJsonBody(body));
    const listeners = channel.getConnections().length;
    await channel.broadcast(msg);
    return { status: 'ack', listeners };
  }

  async dispatch(channelId: string, listenerId: string, body: RawRequestBody): Promise<RestAck> {
    const channel = this.container.get(channelId);
    channel.getConnection(listenerId);
    await channel.dispatch(listenerId, parseMessageBody(decodeJsonBody(body)));
    return { status: 'ack' };
  }

  /** Removes the listener and its queue; stopping it ends its stream. */
  async removeListener(channelId: string, listenerId: string): Promise<void> {
    await this.container.get(channelId).removeListener(listenerId);
  }

  /** Removes the channel, then every listener of it, which ends their streams. */
  async removeChannel(channelId: string): Promise<void> {
    const channel = this.container.get(channelId);
    this.container.rm(channelId);
    for (const { listener } of channel.getConnections()) await channel.removeListener(listener.id);
  }
}
