import type { AbstractChannel } from '../core/channel.js';
import type { Connection } from '../core/connection.js';
import {
  InvalidChannelException,
  InvalidConfigurationException,
  InvalidListenerException,
  InvalidMessageFormat,
} from '../core/errors.js';
import { MessageQueueListener } from '../core/listener.js';
import { internalErrorMessage } from '../core/internal-error.js';
import { getEricLogger } from '../core/logger.js';
import { SignedMessage, type MessageContract } from '../core/message.js';
import { assertNonEmptyString } from '../core/validate.js';
import { SSEChannel } from './sse-channel.js';

/** An action answers a message with the messages to send back to its sender (or nothing). */
export type Action = (
  msg: SignedMessage,
) => readonly MessageContract[] | void | undefined | Promise<readonly MessageContract[] | void | undefined>;

export const RESERVED_ACTIONS: readonly string[] = ['start', 'stop'];

/**
 * A listener that runs an action per message type and sends what the action returns back to the
 * message's sender, signed by itself. Messages of type `start` and `stop` start and stop it.
 */
export class SimpleDistributedApplicationListener extends MessageQueueListener {
  private readonly actions = new Map<string, Action>();
  private channel: AbstractChannel | undefined;

  setAction(name: string, action: Action): void {
    assertNonEmptyString(name, 'action name');
    if (RESERVED_ACTIONS.includes(name)) {
      throw new InvalidConfigurationException(`Action name '${name}' is reserved (${RESERVED_ACTIONS.join(', ')})`);
    }
    if (typeof action !== 'function') {
      throw new InvalidConfigurationException(`Action '${name}' must be a function`);
    }
    this.actions.set(name, action);
  }

  hasAction(name: string): boolean {
    return this.actions.has(name);
  }

  setChannel(channel: AbstractChannel): void {
    this.channel = channel;
  }

  getChannel(): AbstractChannel | undefined {
    return this.channel;
  }

  override async onMessage(msg: MessageContract): Promise<void> {
    if (msg.type === 'start') return this.start();
    if (msg.type === 'stop') return this.stop();
    const action = this.actions.get(msg.type);
    if (action === undefined) {
      getEricLogger().debug(`Listener ${this.id} has no action for '${msg.type}'; ignored`);
      return;
    }
    const senderId = (msg as Partial<SignedMessage>).senderId;
    const signed = msg instanceof SignedMessage ? msg : new SignedMessage(senderId ?? '', msg.type, msg.payload);
    let answers: readonly MessageContract[];
    try {
      answers = toAnswers(await action(signed), msg.type);
    } catch (error) {
      getEricLogger().error(`Action '${msg.type}' of listener ${this.id} failed`, error);
      answers = [internalErrorMessage(error, msg.type)];
    }
    if (senderId === undefined || senderId === '') {
      if (answers.length > 0) getEricLogger().debug(`Message '${msg.type}' has no sender; answers dropped`);
      return;
    }
    try {
      for (const answer of answers) await this.dispatchTo(senderId, answer);
    } catch (error) {
      // A sender that has left the channel must not end this listener's stream.
      if (!(error instanceof InvalidListenerException)) throw error;
      getEricLogger().error(
        `Listener ${this.id} dropped its answers to '${msg.type}': sender ${senderId} is gone`,
        error,
      );
    }
  }

  /** Sends `msg`, signed by this listener, to `receiver` through this listener's channel. */
  async dispatchTo(receiver: MessageQueueListener | string, msg: MessageContract): Promise<void> {
    if (this.channel === undefined) {
      throw new InvalidChannelException(`Listener ${this.id} is not registered on a channel`);
    }
    const receiverId = typeof receiver === 'string' ? receiver : receiver.id;
    await this.channel.dispatch(receiverId, new SignedMessage(this.id, msg.type, msg.payload));
  }
}

function toAnswers(result: unknown, type: string): readonly MessageContract[] {
  if (result === undefined || result === null) return [];
  if (Array.isArray(result) && result.every(isMessage)) return result;
  throw new InvalidMessageFormat(`Action '${type}' must return an array of messages or nothing`);
}

function isMessage(value: unknown): value is MessageContract {
  return typeof value === 'object' && value !== null && typeof (value as MessageContract).type === 'string';
}

/** An `SSEChannel` that gives each distributed-application listener registered on it its channel. */
export class SimpleDistributedApplicationChannel extends SSEChannel {
  // Where every registration ends (also those a Redis channel makes for listeners Redis accepted).
  protected override attachConnection(connection: Connection): void {
    super.attachConnection(connection);
    if (connection.listener instanceof SimpleDistributedApplicationListener) connection.listener.setChannel(this);
  }
}
