import { Injectable, Logger } from '@nestjs/common';
import { setTimeout as pause } from 'node:timers/promises';
import { ChannelContainer, Message, type JsonValue, type SignedMessage } from '../src/index.js';

/** The channel the page watches to follow the conversation (created by `EricSseModule.forRoot`). */
export const CONVERSATION_CHANNEL = 'conversation';

/** How long each speaker "thinks" before answering, so a person watching the page can follow each step. */
const THINKING_MS = 300;

/** One step of the conversation: `listener` received a message of `type` (from `from`, when known). */
export interface ConversationStep {
  [key: string]: JsonValue;
  listener: string;
  type: string;
  from: string | null;
  payload: JsonValue;
}

/**
 * Tells whoever watches the `conversation` channel what Alice and Bob receive, as it happens:
 * events `started`, then one `received` per step (data: a `ConversationStep`), then `ended`.
 */
@Injectable()
export class Transcript {
  private readonly logger = new Logger(Transcript.name);
  private current: ConversationStep[] = [];

  constructor(private readonly channels: ChannelContainer) {}

  /** The steps of the latest conversation, in the order they happened. */
  get steps(): ConversationStep[] {
    return [...this.current];
  }

  async started(): Promise<void> {
    this.current = [];
    await this.tell(new Message('started'));
  }

  /** Records that `listener` received `msg` in one of its actions, then pauses while it "thinks". */
  async heard(listener: string, msg: SignedMessage): Promise<void> {
    await this.record({ listener, type: msg.type, from: msg.senderId, payload: msg.payload ?? null });
    await pause(THINKING_MS);
  }

  /** Records that `listener` stopped: it received `stop`, which the listener handles itself, not an action. */
  async stopped(listener: string): Promise<void> {
    await this.record({ listener, type: 'stop', from: null, payload: null });
  }

  async ended(): Promise<void> {
    await this.tell(new Message('ended', { steps: this.current.length }));
  }

  private async record(step: ConversationStep): Promise<void> {
    this.current.push(step);
    await this.tell(new Message('received', step));
  }

  private async tell(msg: Message): Promise<void> {
    try {
      await this.channels.get(CONVERSATION_CHANNEL).broadcast(msg);
    } catch (error) {
      // Someone removed the channel through the REST API: the conversation goes on, unwatched.
      this.logger.warn(`Could not tell the ${CONVERSATION_CHANNEL} channel about '${msg.type}': ${String(error)}`);
    }
  }
}
