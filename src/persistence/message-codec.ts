import { Message, SignedMessage, UniqueMessage, type MessageContract, type Payload } from '../core/message.js';
import { isNonEmptyString, isRecord, malformed } from './record-guards.js';

/** A message as stored: plain JSON that keeps which class it was. */
export type EncodedMessage =
  | { kind: 'message'; type: string; payload?: Payload }
  | { kind: 'signed'; type: string; senderId: string; payload?: Payload }
  | { kind: 'unique'; id: string; senderId?: string; message: EncodedMessage };

/**
 * The one place messages become stored JSON. A `UniqueMessage` keeps its id, sender and the message it
 * wraps; any other message with a string `senderId` is stored as signed, the rest as plain messages.
 */
export function encodeMessage(msg: MessageContract): EncodedMessage {
  if (msg instanceof UniqueMessage) {
    const encoded: EncodedMessage = { kind: 'unique', id: msg.id, message: encodeMessage(msg.message) };
    if (msg.senderId !== undefined) encoded.senderId = msg.senderId;
    return encoded;
  }
  const senderId = (msg as Partial<SignedMessage>).senderId;
  const encoded: EncodedMessage =
    typeof senderId === 'string' ? { kind: 'signed', type: msg.type, senderId } : { kind: 'message', type: msg.type };
  if (msg.payload !== undefined) encoded.payload = msg.payload;
  return encoded;
}

/** Rebuilds a message stored by `encodeMessage`; anything else is a `RepositoryError`. */
export function decodeMessage(record: unknown): MessageContract {
  if (!isRecord(record)) throw malformed('message', record, 'not an object');
  switch (record.kind) {
    case 'message':
      return new Message(requireType(record), record.payload as Payload);
    case 'signed':
      if (typeof record.senderId !== 'string') throw malformed('message', record, 'senderId must be a string');
      return new SignedMessage(record.senderId, requireType(record), record.payload as Payload);
    case 'unique':
      if (!isNonEmptyString(record.id)) throw malformed('message', record, 'id must be a non-empty string');
      if (record.senderId !== undefined && typeof record.senderId !== 'string') {
        throw malformed('message', record, 'senderId must be a string');
      }
      return new UniqueMessage(decodeMessage(record.message), record.senderId, record.id);
    default:
      throw malformed('message', record, "kind must be 'message', 'signed' or 'unique'");
  }
}

function requireType(record: Record<string, unknown>): string {
  if (typeof record.type !== 'string') throw malformed('message', record, 'type must be a string');
  return record.type;
}
