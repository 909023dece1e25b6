import { InvalidMessageFormat } from '../core/errors.js';

/** The fields of one server-sent event, before encoding. */
export interface SseEventFields {
  /** The event type (`event:`). Omitted: clients dispatch it as `message`. */
  event?: string;
  /** Strings are sent as they are; anything else as its JSON text; `undefined` as empty data. */
  data?: unknown;
  /** The event id (`id:`), which an `EventSource` sends back as `Last-Event-ID` on reconnect. */
  id?: string;
  /** The reconnection delay the client should use, in milliseconds (`retry:`). */
  retry?: number;
}

/** A comment line and the blank line after it: clients ignore it, proxies see traffic. */
export const SSE_KEEP_ALIVE_FRAME = ':\n\n';

const LINE_BREAK = /\r\n|\r|\n/;
const LINE_BREAKS = /[\r\n]/g;
const LINE_BREAKS_AND_NUL = /[\r\n\0]/g;

/**
 * The text an event's `data` carries: strings as they are, `undefined` as the empty string, anything
 * else as its JSON text. Throws `InvalidMessageFormat` for values JSON cannot represent.
 */
export function serializeSseData(data: unknown): string {
  if (typeof data === 'string') return data;
  if (data === undefined) return '';
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (error) {
    throw new InvalidMessageFormat(`SSE data cannot be serialized to JSON: ${(error as Error).message}`);
  }
  if (json === undefined) throw new InvalidMessageFormat(`SSE data of type ${typeof data} has no JSON form`);
  return json;
}

/**
 * Encodes one event as an SSE frame (WHATWG HTML, "Server-sent events"), ending with the blank line
 * that dispatches it.
 *
 * - `data` goes through `serializeSseData`; a text with line breaks (`\r\n`, `\r` or `\n`) becomes one
 *   `data:` line per line, which clients join back with `\n`. Empty data is still sent (`data:`), as a
 *   client drops an event without any `data:` line.
 * - Line breaks in `event` and `id` would end the field early, so they are stripped, as is NUL in
 *   `id` (a client ignores an id containing it).
 * - `retry` is written as an integer; it must be a finite number >= 0 (`InvalidMessageFormat` otherwise).
 */
export function encodeSseFrame(fields: SseEventFields): string {
  return encodeSerializedSseFrame(fields, serializeSseData(fields.data));
}

/** `encodeSseFrame` for data already passed through `serializeSseData`. */
export function encodeSerializedSseFrame(fields: SseEventFields, data: string): string {
  let frame = '';
  if (fields.id !== undefined) frame += `id: ${fields.id.replace(LINE_BREAKS_AND_NUL, '')}\n`;
  if (fields.event !== undefined) frame += `event: ${fields.event.replace(LINE_BREAKS, '')}\n`;
  if (fields.retry !== undefined) frame += `retry: ${retryField(fields.retry)}\n`;
  return frame + dataLines(data) + '\n';
}

/** Encodes a comment: one `:` line per line of `text`. Clients ignore comments. */
export function encodeSseComment(text = ''): string {
  if (!LINE_BREAK.test(text)) return text === '' ? ':\n' : `: ${text}\n`;
  return text
    .split(LINE_BREAK)
    .map((line) => (line === '' ? ':\n' : `: ${line}\n`))
    .join('');
}

function dataLines(data: string): string {
  if (!LINE_BREAK.test(data)) return `data: ${data}\n`;
  return data
    .split(LINE_BREAK)
    .map((line) => `data: ${line}\n`)
    .join('');
}

function retryField(retry: number): number {
  if (typeof retry !== 'number' || !Number.isFinite(retry) || retry < 0) {
    throw new InvalidMessageFormat(`SSE retry must be a finite number >= 0, got ${String(retry)}`);
  }
  return Math.floor(retry);
}
