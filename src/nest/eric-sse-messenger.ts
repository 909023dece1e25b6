import { Inject, Injectable } from '@nestjs/common';
import { InvalidMessageFormat } from '../core/errors.js';
import { idempotencyKeyOf, type PublishOptions } from '../core/idempotency.js';
import { SignedMessage, type MessageContract } from '../core/message.js';
import type { SimpleDistributedApplicationListener } from '../prefabs/simple-distributed-application.js';
import { ChannelContainer } from '../servers/channel-container.js';
import { ERIC_SSE_OPTIONS } from './constants.js';
import type { ResolvedEricSseOptions } from './eric-sse-module-options.js';
import { OnMessageListeners } from './on-message/on-message-listeners.js';

/** Where and how `EricSseMessenger.dispatchTo` sends. */
export interface EricSseDispatchOptions extends PublishOptions {
  /** The channel both listeners are on. Default: the sender's `@OnMessage` channel, else `onMessageChannel`. */
  channelId?: string;
}

/**
 * Lets application code talk to `@OnMessage` listeners: send a message on a listener's behalf
 * (starting a conversation), look a listener up, restart one that a `stop` message stopped.
 */
@Injectable()
export class EricSseMessenger {
  constructor(
    private readonly container: ChannelContainer,
    private readonly listeners: OnMessageListeners,
    @Inject(ERIC_SSE_OPTIONS) private readonly options: ResolvedEricSseOptions,
  ) {}

  /**
   * Queues `msg` for `toListenerId`, signed by `fromListenerId`, so that what the receiver's action
   * returns goes back to the sender. Both must be on the channel: `channelId` when given, else the
   * sender's `@OnMessage` channel, else the module's `onMessageChannel`. The sender may be any
   * listener (e.g. one an SSE client streams), not only an `@OnMessage` one. The fourth argument is the
   * channel id, or options: `{ channelId?, idempotencyKey? }`; a call repeating an idempotency key within
   * the channel's window sends nothing again. Unknown channel or listener → `InvalidChannelException` /
   * `InvalidListenerException`; a message without a non-empty string type, or a bad idempotency key →
   * `InvalidMessageFormat`; in every case nothing is sent.
   */
  async dispatchTo(
    fromListenerId: string,
    toListenerId: string,
    msg: MessageContract,
    channelOrOptions?: string | EricSseDispatchOptions,
  ): Promise<void> {
    if (typeof msg?.type !== 'string' || msg.type === '') {
      throw new InvalidMessageFormat(`A message needs a non-empty string type, got ${JSON.stringify(msg?.type)}`);
    }
    const { channelId, ...publish } =
      typeof channelOrOptions === 'string' ? { channelId: channelOrOptions } : (channelOrOptions ?? {});
    const options = idempotencyKeyOf(publish) === undefined ? undefined : publish;
    const channel =
      channelId !== undefined
        ? await this.container.resolve(channelId)
        : this.listeners.has(fromListenerId)
          ? this.listeners.channelOf(fromListenerId)
          : await this.container.resolve(this.options.onMessageChannel);
    // Also a listener another instance registered (on a shared backend).
    await channel.resolveConnection(fromListenerId);
    await channel.dispatch(toListenerId, new SignedMessage(fromListenerId, msg.type, msg.payload), options);
  }

  /** The `@OnMessage` listener with this id; unknown → `InvalidListenerException`. */
  listener(listenerId: string): SimpleDistributedApplicationListener {
    return this.listeners.get(listenerId);
  }

  /** Ids of every `@OnMessage` listener, in registration order. */
  listenerIds(): string[] {
    return this.listeners.ids();
  }

  /** Starts an `@OnMessage` listener again (e.g. after a `stop` message) and resumes running its actions. */
  start(listenerId: string): void {
    this.listeners.start(listenerId);
  }
}
