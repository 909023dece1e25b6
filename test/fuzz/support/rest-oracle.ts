import { MAX_PAYLOAD_DEPTH } from '../../../src/core/payload-depth.js';
import type { RenderedBody } from './rest-bodies.js';

/**
 * What the README promises for a request body, worked out independently of the implementation:
 * the status it is refused with, or the JSON value it carries (undefined: no body).
 */
export type DecodedBody = { refused: 400 | 413 | 415 } | { value: unknown };

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeBody(body: RenderedBody, limit: number): DecodedBody {
  const encoding = body.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return { refused: 415 };
  const bytes = body.bytes ?? Buffer.alloc(0);
  if (bytes.length > limit) return { refused: 413 };
  if (bytes.length === 0) return { value: undefined };
  try {
    return { value: JSON.parse(utf8.decode(bytes)) };
  } catch {
    return { refused: 400 };
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function onlyKeys(value: Record<string, unknown>, keys: string[]): boolean {
  return Object.keys(value).every((key) => keys.includes(key));
}

/** Whether every number survived JSON parsing (`1e999` becomes Infinity, which JSON cannot carry). */
function finiteNumbers(value: unknown): boolean {
  const pending = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (typeof next === 'number' && !Number.isFinite(next)) return false;
    if (typeof next === 'object' && next !== null) pending.push(...Object.values(next));
  }
  return true;
}

/** How many arrays and objects `value` nests inside one another (a scalar: 0). */
function depthOf(value: unknown): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [next, depth] = pending.pop() as [unknown, number];
    if (typeof next !== 'object' || next === null) continue;
    deepest = Math.max(deepest, depth + 1);
    for (const item of Object.values(next)) pending.push([item, depth + 1]);
  }
  return deepest;
}

/** `{ type, payload? }`: the message it describes, or undefined when the body is a 400. */
export function messageOf(value: unknown): { type: string; payload: unknown } | undefined {
  if (!isObject(value) || !onlyKeys(value, ['type', 'payload'])) return undefined;
  if (typeof value.type !== 'string' || value.type === '') return undefined;
  if (!finiteNumbers(value.payload) || depthOf(value.payload) > MAX_PAYLOAD_DEPTH) return undefined;
  return { type: value.type, payload: value.payload };
}

function nonNegative(value: unknown): boolean {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/** `{ id?, streamDelaySeconds?, retryTimeoutMilliseconds? }`: the settings, or undefined when the body is a 400. */
export function channelSettingsOf(value: unknown): { id?: string } | undefined {
  if (value === undefined) return {};
  if (!isObject(value) || !onlyKeys(value, ['id', 'streamDelaySeconds', 'retryTimeoutMilliseconds'])) return undefined;
  if ('id' in value && (typeof value.id !== 'string' || value.id === '')) return undefined;
  if ('streamDelaySeconds' in value && !nonNegative(value.streamDelaySeconds)) return undefined;
  if ('retryTimeoutMilliseconds' in value && !nonNegative(value.retryTimeoutMilliseconds)) return undefined;
  return 'id' in value ? { id: value.id as string } : {};
}

/** A lone surrogate cannot be sent as UTF-8: it arrives as U+FFFD. */
export function wellFormed(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/** The event type an `EventSource` sees for a message type: line breaks dropped, empty means `message`. */
export function expectedEventType(type: string): string {
  const stripped = wellFormed(type.replace(/[\r\n]/g, ''));
  return stripped === '' ? 'message' : stripped;
}

/** The data an `EventSource` sees for a string payload: line breaks normalized to `\n`. */
export function expectedStringData(payload: string): string {
  return wellFormed(payload.replace(/\r\n|\r/g, '\n'));
}
