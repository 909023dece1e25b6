import { AbstractChannel, type ChannelData, type ChannelOptions } from '../core/channel.js';
import type { MessageContract, Payload } from '../core/message.js';
import { assertNonNegativeNumber } from '../core/validate.js';

export interface SSEChannelOptions extends ChannelOptions {
  /** The SSE `retry` field sent with every event, in milliseconds. Default 5. */
  retryTimeoutMilliseconds?: number;
}

/** What an `SSEChannel` stream yields for each message. */
export interface SSEEvent {
  event: string;
  retry: number;
  data: Payload;
}

export class SSEChannel extends AbstractChannel<SSEEvent> {
  readonly retryTimeoutMilliseconds: number;

  constructor(options: SSEChannelOptions = {}) {
    super(options);
    this.retryTimeoutMilliseconds = assertNonNegativeNumber(
      options.retryTimeoutMilliseconds ?? 5,
      'retryTimeoutMilliseconds',
    );
  }

  adapt(msg: MessageContract): SSEEvent {
    return { event: msg.type, retry: this.retryTimeoutMilliseconds, data: msg.payload };
  }

  override toData(): ChannelData {
    return { ...super.toData(), retryTimeoutMilliseconds: this.retryTimeoutMilliseconds };
  }
}
