import type { AbstractChannel } from '../core/channel.js';
import { InvalidMessageFormat } from '../core/errors.js';
import { getEricLogger } from '../core/logger.js';
import type { MessageContract, Payload } from '../core/message.js';
import { EncodedSseEvent, sseFieldsOf } from './encoded-sse-event.js';

interface Entry {
  readonly channel: AbstractChannel;
  type: string;
  payload: Payload;
  encoded: EncodedSseEvent | undefined;
  error: InvalidMessageFormat | undefined;
  next: Entry | undefined;
}

/**
 * Encodes each message once per channel, however many listeners stream it: a broadcast pushes the same
 * message object to every queue, so the frame is keyed by that object (weakly: it goes once no queue
 * holds the message) and by the channel, whose settings (`adapt`, `retry`) shape the frame.
 *
 * A message must not be changed once sent (queues hold it as it is anyway). Re-sending one object
 * with another `type` or `payload` is noticed and encodes it again.
 */
export class SseFrameCache {
  private readonly entries = new WeakMap<MessageContract, Entry>();
  private hitCount = 0;
  private missCount = 0;

  /** Encodings served from the cache. */
  get hits(): number {
    return this.hitCount;
  }

  /** Encodings made (or failed) because the cache had none. */
  get misses(): number {
    return this.missCount;
  }

  /** The encoded event; throws `InvalidMessageFormat` (every time) for a message that cannot be encoded. */
  encode(channel: AbstractChannel, msg: MessageContract): EncodedSseEvent {
    const entry = this.entryFor(channel, msg);
    if (entry.error !== undefined) throw entry.error;
    return entry.encoded as EncodedSseEvent;
  }

  /**
   * The encoded event, or `undefined` for a message that cannot be encoded. Such a message is logged
   * once, on its first encoding, not once per listener.
   */
  tryEncode(channel: AbstractChannel, msg: MessageContract): EncodedSseEvent | undefined {
    const misses = this.missCount;
    const entry = this.entryFor(channel, msg);
    if (entry.error !== undefined && this.missCount !== misses) {
      getEricLogger().error(
        `Message '${msg.type}' on channel ${channel.id} cannot be sent over SSE; skipped`,
        entry.error,
      );
    }
    return entry.encoded;
  }

  private entryFor(channel: AbstractChannel, msg: MessageContract): Entry {
    const first = this.entries.get(msg);
    let entry = first;
    while (entry !== undefined && entry.channel !== channel) entry = entry.next;
    const { type, payload } = msg;
    if (entry !== undefined && entry.type === type && entry.payload === payload) {
      this.hitCount++;
      return entry;
    }
    this.missCount++;
    if (entry === undefined) {
      entry = { channel, type, payload, encoded: undefined, error: undefined, next: first };
      this.entries.set(msg, entry);
    }
    entry.type = type;
    entry.payload = payload;
    try {
      entry.encoded = new EncodedSseEvent(sseFieldsOf(channel, msg));
      entry.error = undefined;
    } catch (error) {
      entry.encoded = undefined;
      entry.error =
        error instanceof InvalidMessageFormat
          ? error
          : new InvalidMessageFormat(`Message '${type}' cannot be encoded for SSE: ${describe(error)}`);
    }
    return entry;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
