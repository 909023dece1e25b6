import type { AbstractChannel } from '../core/channel.js';
import type { MessageContract } from '../core/message.js';
import { encodeSerializedSseFrame, serializeSseData, type SseEventFields } from './sse-frame.js';

/** One message encoded for SSE: the frame for raw writers, the fields for `@Sse` handlers. */
export class EncodedSseEvent {
  readonly event: string | undefined;
  readonly id: string | undefined;
  readonly retry: number | undefined;
  /** `data` as serialized into the frame. */
  readonly data: string;
  /** The whole frame, blank line included. */
  readonly frame: string;
  private utf8: Buffer | undefined;
  private chunk: Buffer | undefined;

  constructor(fields: SseEventFields) {
    this.data = serializeSseData(fields.data);
    this.frame = encodeSerializedSseFrame(fields, this.data);
    this.event = fields.event;
    this.id = fields.id;
    this.retry = fields.retry === undefined ? undefined : Math.floor(fields.retry);
  }

  /** The frame as UTF-8, made once, so writing it to many sockets encodes it once. */
  get bytes(): Buffer {
    return (this.utf8 ??= Buffer.from(this.frame, 'utf8'));
  }

  /** The frame as one HTTP/1.1 chunk (`<size in hex>\r\n<frame>\r\n`), made once. */
  get httpChunk(): Buffer {
    if (this.chunk === undefined) {
      const size = Buffer.byteLength(this.frame, 'utf8');
      const head = `${size.toString(16)}\r\n`;
      const chunk = Buffer.allocUnsafe(head.length + size + 2);
      chunk.write(head, 0, 'latin1');
      chunk.write(this.frame, head.length, 'utf8');
      chunk.write('\r\n', head.length + size, 'latin1');
      this.chunk = chunk;
    }
    return this.chunk;
  }
}

/**
 * The SSE fields of a message streamed from `channel`. When the channel adapts messages to
 * `{ event, data, retry? }` (as `SSEChannel` does), those are used; otherwise the event type is the
 * message type and the data is whatever `adapt` returns. A message with a string `id` (such as a
 * `UniqueMessage`) gives the event its id.
 */
export function sseFieldsOf(channel: AbstractChannel, msg: MessageContract): SseEventFields {
  const adapted = channel.adapt(msg);
  const id = idOf(adapted) ?? idOf(msg);
  if (isSseEventLike(adapted)) {
    return { event: adapted.event, data: adapted.data, retry: adapted.retry, id };
  }
  return { event: msg.type, data: adapted, id };
}

function isSseEventLike(value: unknown): value is { event: string; data?: unknown; retry?: number } {
  if (typeof value !== 'object' || value === null) return false;
  const { event, retry } = value as { event?: unknown; retry?: unknown };
  return typeof event === 'string' && (retry === undefined || typeof retry === 'number');
}

function idOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const id = (value as { id?: unknown }).id;
  return typeof id === 'string' ? id : undefined;
}
