import { AbstractChannel, type ChannelData, type ChannelOptions } from '../core/channel.js';
import { internalErrorMessage } from '../core/internal-error.js';
import { InvalidConfigurationException } from '../core/errors.js';
import type { MessageQueueListener } from '../core/listener.js';
import { getEricLogger } from '../core/logger.js';
import { Message, type MessageContract, type Payload } from '../core/message.js';
import { InMemoryQueue, popAny } from '../core/queue.js';
import { assertInteger } from '../core/validate.js';
import { AsyncExecutor, type MessageExecutor } from './message-executor.js';

export interface DataProcessingChannelOptions extends ChannelOptions {
  /** Most messages processed at once by `processQueue` (an integer >= 1). */
  maxWorkers: number;
  /**
   * Runs each message. Default: `AsyncExecutor` (calls `listener.onMessage`). Use a `WorkerPoolExecutor`
   * for CPU-bound work. The channel owns it: `close()` closes it.
   */
  executor?: MessageExecutor;
}

/** What a `DataProcessingChannel` stream yields for each message. */
export interface ProcessedEvent {
  event: string;
  data: Payload;
}

/** A channel for concurrent processing of the messages queued for a listener. */
export class DataProcessingChannel extends AbstractChannel<ProcessedEvent> {
  readonly maxWorkers: number;
  readonly executor: MessageExecutor;

  constructor(options: DataProcessingChannelOptions) {
    super(options);
    this.maxWorkers = assertInteger(options?.maxWorkers, 'maxWorkers', 1);
    const executor = options.executor ?? new AsyncExecutor();
    if (typeof executor !== 'object' || executor === null || typeof executor.run !== 'function') {
      throw new InvalidConfigurationException('executor must be an object with a run(listener, msg) method');
    }
    this.executor = executor;
  }

  adapt(msg: MessageContract): ProcessedEvent {
    return { event: msg.type, data: msg.payload };
  }

  override toData(): ChannelData {
    return { ...super.toData(), maxWorkers: this.maxWorkers };
  }

  /**
   * Drains the listener's queue, including messages queued while it drains: runs each message through the
   * executor, at most `maxWorkers` at once, and yields `adapt(result)` in order of completion. Ends when the
   * queue is empty and nothing is in flight. A failed message yields a `MESSAGE_TYPE_INTERNAL_ERROR` event and
   * processing goes on. No more than `maxWorkers` messages are taken ahead of what the consumer has read.
   * `streamDelaySeconds` does not apply here (as in the original, it only spaces `messageStream`).
   */
  async *processQueue(listener: MessageQueueListener | string): AsyncGenerator<ProcessedEvent, void, undefined> {
    const listenerId = typeof listener === 'string' ? listener : listener.id;
    if (!this.hasListener(listenerId)) {
      yield this.adapt(
        new Message('error', `InvalidListenerException: no listener with id ${listenerId} in channel ${this.id}`),
      );
      return;
    }
    const { listener: target, queue } = this.getConnection(listenerId);
    const finished: MessageContract[] = []; // results not yet yielded, in completion order
    let inFlight = 0;
    let wake: (() => void) | undefined;
    const settle = (result: MessageContract): void => {
      inFlight--;
      finished.push(result);
      wake?.();
    };
    // Takes messages while fewer than maxWorkers are popped and not yet handed to the consumer.
    // Returns true when it stopped on an empty queue rather than on the limit.
    const fill = async (): Promise<boolean> => {
      while (inFlight + finished.length < this.maxWorkers) {
        const msg = queue instanceof InMemoryQueue ? queue.popNow() : await popAny(queue);
        if (msg === undefined) return true;
        inFlight++;
        void this.execute(target, msg).then(settle);
      }
      return false;
    };
    for (;;) {
      const next = finished.shift();
      // Refill the slot `next` frees before handing it over, so workers stay busy while the consumer reads.
      const queueEmpty = await fill();
      if (next !== undefined) {
        yield this.adapt(next);
        continue;
      }
      if (finished.length > 0) continue;
      if (inFlight === 0) return;
      // Wake on the next completion or, with a free slot, on the next message queued.
      await new Promise<void>((resolve) => {
        let cancelReady: (() => void) | undefined;
        const done = (): void => {
          wake = undefined;
          cancelReady?.();
          resolve();
        };
        wake = done;
        if (queueEmpty) cancelReady = queue.onReady(done);
      });
    }
  }

  /** Closes the executor (a worker pool's threads). */
  async close(): Promise<void> {
    await this.executor.close?.();
  }

  /** Never rejects: a failure becomes an internal-error message. */
  private async execute(listener: MessageQueueListener, msg: MessageContract): Promise<MessageContract> {
    try {
      return (await this.executor.run(listener, msg)) ?? msg;
    } catch (error) {
      getEricLogger().error(`Processing '${msg.type}' for listener ${listener.id} in channel ${this.id} failed`, error);
      return internalErrorMessage(error, msg.type);
    }
  }
}
