import { ConflictException } from '@nestjs/common';
import type { AbstractChannel } from '../../core/channel.js';
import { withDeadline } from '../../core/deadline.js';
import { InvalidChannelException, InvalidListenerException, RepositoryError } from '../../core/errors.js';
import type { PublishOptions } from '../../core/idempotency.js';
import type { MessageContract } from '../../core/message.js';
import type { ChannelContainer } from '../../servers/channel-container.js';
import type { EricSseChannelSettings } from '../create-backend.js';
import { decodeJsonBody } from './decode-json-body.js';
import { idempotencyKeyFromHeader } from './idempotency-header.js';
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

/** How a broadcast or dispatch request asks to be idempotent. */
export interface RestPublishRequest {
  /** The values of the `Idempotency-Key` header, if sent (one is expected). */
  idempotencyKey?: readonly string[];
  /** Called when the key was seen within the window: nothing was queued, the answer is the first one's. */
  onReplay?: () => void;
}

/**
 * What the REST endpoints do, over the module's `ChannelContainer` (and so, on a shared backend, over
 * channels and listeners any instance made). Unknown ids throw `InvalidChannelException` /
 * `InvalidListenerException`; each method checks everything before it changes anything, and the ids are
 * looked up before the body is decoded (so 404 wins over 400/413). A backend that cannot be reached
 * throws `RepositoryError`.
 */
export class RestOperations {
  constructor(
    private readonly container: ChannelContainer,
    /** Makes an SSE channel of the module's backend. */
    private readonly makeChannel: (settings: EricSseChannelSettings) => AbstractChannel,
    /**
     * The most an operation may take (`EricSseBackend.callDeadlineMilliseconds`): past it, it is answered
     * with a `RepositoryError` saying its outcome is unknown. Undefined: no deadline.
     */
    private readonly deadlineMilliseconds?: number,
  ) {}

  /** `operation`, answered within the deadline. */
  bounded<T>(what: string, operation: () => Promise<T>): Promise<T> {
    const work = operation();
    const limit = this.deadlineMilliseconds;
    if (limit === undefined) return work;
    return withDeadline(
      work,
      limit,
      () =>
        new RepositoryError(
          `The backend did not answer within ${limit} ms, could not ${what}; the outcome is unknown (it may have been applied)`,
        ),
    );
  }

  /** Creates and registers an SSE channel; a taken id is a 409 naming `InvalidChannelException`. */
  async createChannel(body: RawRequestBody): Promise<RestCreated> {
    const { id, streamDelaySeconds, retryTimeoutMilliseconds } = parseChannelSettings(decodeJsonBody(body));
    if (id !== undefined && this.container.has(id)) throw channelTaken(id);
    const channel = this.makeChannel({ id, streamDelaySeconds, retryTimeoutMilliseconds });
    try {
      await this.container.add(channel);
    } catch (error) {
      if (error instanceof InvalidChannelException) throw channelTaken(channel.id); // taken by another instance
      throw error;
    }
    return { id: channel.id };
  }

  async channelIds(): Promise<RestIds> {
    return { ids: await this.container.listIds() };
  }

  async listenerIds(channelId: string): Promise<RestIds> {
    return { ids: await (await this.container.resolve(channelId)).listListenerIds() };
  }

  /** Adds a listener (not started: streaming it starts it) and returns its id. */
  async subscribe(channelId: string): Promise<RestCreated> {
    const listener = await (await this.container.resolve(channelId)).addListener();
    return { id: listener.id };
  }

  async broadcast(channelId: string, body: RawRequestBody, request: RestPublishRequest = {}): Promise<RestAck> {
    const channel = await this.container.resolve(channelId);
    const options = publishOptionsOf(request);
    const msg = parseMessageBody(decodeJsonBody(body));
    const listeners = await channel.broadcastAndCount(msg, options);
    return { status: 'ack', listeners };
  }

  async dispatch(
    channelId: string,
    listenerId: string,
    body: RawRequestBody,
    request: RestPublishRequest = {},
  ): Promise<RestAck> {
    const channel = await this.container.resolve(channelId);
    // A retry may come after its listener left: with a key, the channel decides (a replay answers as the
    // first call did); the listener's 404 still wins over a bad key or body.
    let gone: InvalidListenerException | undefined;
    try {
      await channel.resolveConnection(listenerId);
    } catch (error) {
      if (!(error instanceof InvalidListenerException) || request.idempotencyKey === undefined) throw error;
      gone = error;
    }
    let options: PublishOptions | undefined;
    let msg: MessageContract;
    try {
      options = publishOptionsOf(request);
      msg = parseMessageBody(decodeJsonBody(body));
    } catch (error) {
      throw gone ?? error;
    }
    await channel.dispatch(listenerId, msg, options);
    return { status: 'ack' };
  }

  /** Removes the listener and its queue; stopping it ends its stream. */
  async removeListener(channelId: string, listenerId: string): Promise<void> {
    await (await this.container.resolve(channelId)).removeListener(listenerId);
  }

  /**
   * Removes the channel, then every listener of it held here, which ends their streams (a shared
   * backend has removed them, and ended their streams in every instance, with the channel).
   */
  async removeChannel(channelId: string): Promise<void> {
    const channel = await this.container.resolve(channelId);
    await this.container.remove(channelId);
    for (const { listener } of channel.getConnections()) await channel.removeListener(listener.id);
  }
}

function publishOptionsOf({ idempotencyKey, onReplay }: RestPublishRequest): PublishOptions | undefined {
  const key = idempotencyKeyFromHeader(idempotencyKey);
  return key === undefined ? undefined : { idempotencyKey: key, onReplay };
}

function channelTaken(id: string): ConflictException {
  return new ConflictException({
    statusCode: 409,
    error: 'InvalidChannelException',
    message: `Channel ${id} already exists`,
  });
}
