import { InvalidConfigurationException, MessageTooLargeException } from './errors.js';
import type { MessageContract } from './message.js';

/**
 * What a full queue does with a new message: `drop-oldest` discards its oldest message to make room
 * (counted, logged at debug); `reject` refuses the new one with `QueueFullException`.
 */
export type QueueOverflowPolicy = 'drop-oldest' | 'reject';

export const QUEUE_OVERFLOW_POLICIES: readonly QueueOverflowPolicy[] = ['drop-oldest', 'reject'];

/** The bound of one listener's queue. */
export interface QueueLimits {
  /** Most messages the queue holds; 0 or absent: no bound. */
  maxSize?: number;
  /** Default `'drop-oldest'`. */
  overflow?: QueueOverflowPolicy;
}

export interface ResolvedQueueLimits {
  /** `Infinity` when unbounded. */
  maxSize: number;
  overflow: QueueOverflowPolicy;
}

/** The bounds of one channel. */
export interface ChannelLimits {
  /** Most listeners the channel holds; 0 or absent: no bound. */
  maxListeners?: number;
  /** Largest payload a dispatch or broadcast takes, in bytes of its JSON encoding; 0 or absent: no bound. */
  maxPayloadBytes?: number;
}

/** Validates queue limits; a bad one is an `InvalidConfigurationException` naming it (under `prefix`). */
export function resolveQueueLimits(limits: QueueLimits | undefined, prefix = ''): ResolvedQueueLimits {
  if (limits === undefined) return { maxSize: Infinity, overflow: 'drop-oldest' };
  if (typeof limits !== 'object' || limits === null) {
    throw new InvalidConfigurationException(`${prefix || 'queue limits'} must be an object, got ${show(limits)}`);
  }
  return {
    maxSize: resolveBound(limits.maxSize, `${prefix}maxSize`),
    overflow: resolveOverflowPolicy(limits.overflow, `${prefix}overflow`),
  };
}

/** `undefined` and 0 mean no bound (`Infinity`); else an integer >= 1. */
export function resolveBound(value: unknown, name: string): number {
  if (value === undefined || value === 0) return Infinity;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidConfigurationException(`${name} must be an integer >= 0 (0: no limit), got ${show(value)}`);
  }
  return value;
}

function show(value: unknown): string {
  return typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value));
}

export function resolveOverflowPolicy(value: unknown, name: string): QueueOverflowPolicy {
  if (value === undefined) return 'drop-oldest';
  if (!QUEUE_OVERFLOW_POLICIES.includes(value as QueueOverflowPolicy)) {
    throw new InvalidConfigurationException(
      `${name} must be one of ${QUEUE_OVERFLOW_POLICIES.map((p) => `'${p}'`).join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  return value as QueueOverflowPolicy;
}

/** Bytes of the payload's JSON encoding (UTF-8); 0 without a payload. */
export function payloadBytes(msg: MessageContract): number {
  const { payload } = msg;
  if (payload === undefined) return 0;
  let json: string | undefined;
  try {
    json = JSON.stringify(payload);
  } catch {
    return Infinity; // cannot be encoded (a cycle, or nested past the stack): never fits
  }
  return json === undefined ? 0 : Buffer.byteLength(json, 'utf8');
}

/**
 * Throws `MessageTooLargeException` when the message's payload is over `maxBytes` (`Infinity`: never
 * checked, so an unbounded channel never encodes a payload for this).
 */
export function assertPayloadFits(msg: MessageContract, maxBytes: number, where: string): void {
  if (maxBytes === Infinity) return;
  const bytes = payloadBytes(msg);
  if (bytes > maxBytes) {
    const size = bytes === Infinity ? 'not JSON-encodable' : `${bytes} bytes as JSON`;
    throw new MessageTooLargeException(
      `The payload of message '${msg.type}' is ${size}, over maxPayloadBytes (${maxBytes}) of ${where}`,
    );
  }
}
