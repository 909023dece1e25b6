import type { AbstractChannel } from '../core/channel.js';
import { InvalidMessageFormat } from '../core/errors.js';
import type { MessageContract } from '../core/message.js';
import { encodeSerializedSseFrame, serializeSseData, type SseEventFields } from './sse-frame.js';

/** The fields of an encoded event: those of a frame but its `id`, which each stream adds (see `SseSink.write`). */
export type SseEventBodyFields = Omit<SseEventFields, 'id'>;

/**
 * One message encoded for SSE, without an `id` line: the frame body for raw writers, the fields for
 * `@Sse` handlers. Made once per message however many listeners stream it; each stream writes its own
 * `id:` line (the listener's event id) before the body.
 */
export class EncodedSseEvent {
  readonly event: string | undefined;
  readonly retry: number | undefined;
  /** `data` as serialized into the frame. */
  readonly data: string;
  /** The frame without its `id` line, blank line included. */
  readonly frame: string;
  private utf8: Buffer | undefined;

  constructor(fields: SseEventBodyFields) {
    this.data = serializeSseData(fields.data);
    this.frame = encodeSerializedSseFrame({ event: fields.event, retry: fields.retry }, this.data);
    this.event = fields.event;
    this.retry = fields.retry === undefined ? undefined : Math.floor(fields.retry);
  }

  /**
   * The event a `frame` (as made by this class, without an `id` line) encodes: how a replay history
   * kept as text, such as Redis, gives its events back. Throws `InvalidMessageFormat` for anything else.
   */
  static fromFrame(frame: string): EncodedSseEvent {
    if (!frame.endsWith('\n\n')) throw new InvalidMessageFormat('An SSE frame ends with a blank line');
    let event: string | undefined;
    let retry: number | undefined;
    const data: string[] = [];
    for (const line of frame.slice(0, -2).split('\n')) {
      if (line.startsWith('data: ')) data.push(line.slice(6));
      else if (line.startsWith('event: ') && data.length === 0) event = line.slice(7);
      else if (line.startsWith('retry: ') && data.length === 0 && /^\d+$/.test(line.slice(7)))
        retry = Number(line.slice(7));
      else throw new InvalidMessageFormat(`Unexpected line in an SSE frame: ${JSON.stringify(line.slice(0, 80))}`);
    }
    if (data.length === 0) throw new InvalidMessageFormat('An SSE frame has a data line');
    const encoded = new EncodedSseEvent({ event, retry, data: data.join('\n') });
    if (encoded.frame !== frame) throw new InvalidMessageFormat('Not an SSE frame made by EncodedSseEvent');
    return encoded;
  }

  /** The frame as UTF-8, made once, so writing it to many sockets encodes it once. */
  get bytes(): Buffer {
    return (this.utf8 ??= ownUtf8(this.frame));
  }
}

/**
 * `text` as UTF-8 in memory of its own. `Buffer.from` puts a small string in a slice of Node's shared
 * 8 KiB pool, and one slice kept pins its whole slab: a frame is kept as long as a replay history holds
 * its event (minutes), while the rest of the slab was short-lived writes.
 */
function ownUtf8(text: string): Buffer {
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(text, 'utf8'));
  bytes.write(text, 'utf8');
  return bytes;
}

/**
 * An event of nothing but the `id:` line a stream puts before it: it sets the client's last event id
 * and dispatches nothing (an event without data is not fired). Sinks that hand out fields rather than
 * bytes recognize it by identity.
 */
export const ID_ONLY_SSE_EVENT: EncodedSseEvent = Object.freeze(
  Object.assign(Object.create(EncodedSseEvent.prototype) as EncodedSseEvent, {
    event: undefined,
    retry: undefined,
    data: '',
    frame: '\n',
    utf8: Buffer.from('\n'),
  }),
);

/**
 * The SSE fields of a message streamed from `channel`. When the channel adapts messages to
 * `{ event, data, retry? }` (as `SSEChannel` does), those are used; otherwise the event type is the
 * message type and the data is whatever `adapt` returns. The `id` is not the message's: streams number
 * their events per listener (see `SseHistory`).
 */
export function sseFieldsOf(channel: AbstractChannel, msg: MessageContract): SseEventBodyFields {
  const adapted = channel.adapt(msg);
  if (isSseEventLike(adapted)) {
    return { event: adapted.event, data: adapted.data, retry: adapted.retry };
  }
  return { event: msg.type, data: adapted };
}

function isSseEventLike(value: unknown): value is { event: string; data?: unknown; retry?: number } {
  if (typeof value !== 'object' || value === null) return false;
  const { event, retry } = value as { event?: unknown; retry?: unknown };
  return typeof event === 'string' && (retry === undefined || typeof retry === 'number');
}
