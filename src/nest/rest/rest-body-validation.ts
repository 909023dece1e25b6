import { InvalidConfigurationException, InvalidMessageFormat } from '../../core/errors.js';
import { Message, type JsonValue } from '../../core/message.js';
import { assertPayloadDepth } from '../../core/payload-depth.js';
import { assertNonEmptyString, assertNonNegativeNumber } from '../../core/validate.js';

/** The body of `POST /channels`; every field optional. */
export interface RestChannelSettings {
  id?: string;
  streamDelaySeconds?: number;
  retryTimeoutMilliseconds?: number;
}

const MESSAGE_KEYS = ['type', 'payload'];
const CHANNEL_KEYS = ['id', 'streamDelaySeconds', 'retryTimeoutMilliseconds'];

/**
 * The message a broadcast or dispatch body describes: `{ type, payload? }`, `type` a non-empty string.
 * @throws InvalidMessageFormat for anything else, including unknown keys and a payload holding a
 * number JSON cannot carry (such as `1e999`, which parses to Infinity) or nesting deeper than
 * `MAX_PAYLOAD_DEPTH`.
 */
export function parseMessageBody(body: unknown): Message {
  if (!isJsonObject(body)) {
    throw new InvalidMessageFormat(`The body must be a JSON object { type, payload? }, got ${describeBody(body)}`);
  }
  assertKnownKeys(body, MESSAGE_KEYS, (message) => new InvalidMessageFormat(message));
  const { type, payload } = body;
  if (typeof type !== 'string' || type === '') {
    throw new InvalidMessageFormat(`type must be a non-empty string, got ${describe(type)}`);
  }
  if (!isJsonRepresentable(payload)) {
    throw new InvalidMessageFormat('payload is not JSON-representable: it holds a number out of range');
  }
  assertPayloadDepth(payload);
  return new Message(type, payload as JsonValue | undefined);
}

/**
 * The settings of a channel to create; no body means all defaults.
 * @throws InvalidConfigurationException naming the field that is wrong, or for unknown keys.
 */
export function parseChannelSettings(body: unknown): RestChannelSettings {
  if (body === undefined) return {};
  if (!isJsonObject(body)) {
    throw new InvalidConfigurationException(
      `The body must be a JSON object { id?, streamDelaySeconds?, retryTimeoutMilliseconds? }, got ${describeBody(body)}`,
    );
  }
  assertKnownKeys(body, CHANNEL_KEYS, (message) => new InvalidConfigurationException(message));
  const settings: RestChannelSettings = {};
  if ('id' in body) settings.id = assertNonEmptyString(body.id, 'id');
  if ('streamDelaySeconds' in body) {
    settings.streamDelaySeconds = assertNonNegativeNumber(body.streamDelaySeconds, 'streamDelaySeconds');
  }
  if ('retryTimeoutMilliseconds' in body) {
    settings.retryTimeoutMilliseconds = assertNonNegativeNumber(
      body.retryTimeoutMilliseconds,
      'retryTimeoutMilliseconds',
    );
  }
  return settings;
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function assertKnownKeys(body: Record<string, unknown>, known: string[], error: (message: string) => Error): void {
  for (const key of Object.keys(body)) {
    if (!known.includes(key))
      throw error(`Unknown key ${JSON.stringify(key)} in the body (known: ${known.join(', ')})`);
  }
}

/** Whether a value parsed from JSON survives a round trip: only an overflowing number does not. */
function isJsonRepresentable(value: unknown): boolean {
  // Iterative: a 64 KiB body can nest deeper than the call stack allows.
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (typeof next === 'number' && !Number.isFinite(next)) return false;
    if (typeof next === 'object' && next !== null) for (const item of Object.values(next)) pending.push(item);
  }
  return true;
}

function describeBody(body: unknown): string {
  return body === undefined ? 'no body' : describe(body);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  const json = JSON.stringify(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}
