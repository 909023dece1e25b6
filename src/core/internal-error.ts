import { MESSAGE_TYPE_INTERNAL_ERROR } from './constants.js';
import { Message } from './message.js';

/** The payload of an internal-error message: which error, what it said, and the message type it hit. */
export interface InternalErrorPayload {
  error: string;
  message: string;
  type: string;
  [key: string]: string;
}

/**
 * The `MESSAGE_TYPE_INTERNAL_ERROR` message that answers a failed handler of `type`.
 * Duck-typed: errors cloned back from a worker thread may come from another realm.
 */
export function internalErrorMessage(error: unknown, type: string): Message {
  return new Message(MESSAGE_TYPE_INTERNAL_ERROR, describeError(error, type));
}

function describeError(error: unknown, type: string): InternalErrorPayload {
  if (typeof error === 'object' && error !== null && 'message' in error && typeof error.message === 'string') {
    const name = 'name' in error && typeof error.name === 'string' ? error.name : 'Error';
    return { error: name, message: error.message, type };
  }
  return { error: 'Error', message: safeString(error), type };
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
