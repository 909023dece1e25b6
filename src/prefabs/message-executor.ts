import type { MessageQueueListener } from '../core/listener.js';
import type { MessageContract } from '../core/message.js';

/**
 * Runs one message for a `DataProcessingChannel`. The channel streams what `run` resolves to (through
 * `adapt`), or the message itself when it resolves to nothing. A rejection becomes an internal-error event.
 */
export interface MessageExecutor {
  run(listener: MessageQueueListener, msg: MessageContract): Promise<MessageContract | void>;
  /** Releases what the executor holds (threads, connections). Called by the channel's `close()`. */
  close?(): Promise<void>;
}

/**
 * The default executor: hands each message to `listener.onMessage` (sync or async) on the main thread
 * and answers the message itself. Async handlers therefore run concurrently, up to the channel's `maxWorkers`.
 */
export class AsyncExecutor implements MessageExecutor {
  async run(listener: MessageQueueListener, msg: MessageContract): Promise<MessageContract> {
    await listener.onMessage(msg);
    return msg;
  }
}
