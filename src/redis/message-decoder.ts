import type { MessageContract } from '../core/message.js';
import { decodeMessage } from '../persistence/message-codec.js';

const DEFAULT_CAPACITY = 256;

/**
 * Decodes stored message texts, returning the same object for the same text while it is recent: the N
 * copies of a broadcast popped by N local streams become one message, parsed once and, through
 * `SseFrameCache`, encoded once, as in memory. Bounded: the oldest text is forgotten first.
 */
export class MessageDecoder {
  private readonly recent = new Map<string, MessageContract>();

  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  /** The message a stored text holds; a `RepositoryError` when it is malformed. */
  decode(text: string): MessageContract {
    const known = this.recent.get(text);
    if (known !== undefined) return known;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text; // decodeMessage names it malformed
    }
    const msg = decodeMessage(parsed);
    if (this.recent.size >= this.capacity) this.recent.delete(this.recent.keys().next().value as string);
    this.recent.set(text, msg);
    return msg;
  }
}
