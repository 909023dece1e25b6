import { MAX_PAYLOAD_DEPTH } from '../../../src/core/payload-depth.js';
import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { abbreviate } from './deadline.js';

/** A request body as sent: bytes (none: no body), headers, and chunked transfer or a Content-Length. */
export interface RenderedBody {
  bytes?: Buffer;
  headers: Record<string, string>;
  chunks?: number;
}

/** A request body the fuzzer made, printed as its label in counterexamples. */
export interface BodySpec {
  label: string;
  render(limit: number): RenderedBody;
}

function bodySpec(label: string, render: (limit: number) => RenderedBody): BodySpec {
  const toString = (): string => label;
  return Object.assign({ label, render }, { toString, [fc.toStringMethod]: toString });
}

const contentType: fc.Arbitrary<string | undefined> = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  undefined,
);

/** How a body travels: its Content-Type and, sometimes, chunked. */
interface Transport {
  contentType: string | undefined;
  chunks: number | undefined;
}

const transport: fc.Arbitrary<Transport> = fc.record({
  contentType,
  chunks: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined, freq: 4 }),
});

function describeTransport({ contentType: type, chunks }: Transport): string {
  return `${type ?? 'no type'}${chunks === undefined ? '' : `, ${chunks} chunks`}`;
}

function headersOf(t: Transport): Record<string, string> {
  return t.contentType === undefined ? {} : { 'content-type': t.contentType };
}

function withTransport(label: string, text: () => Buffer, t: Transport): BodySpec {
  return bodySpec(`${label} [${describeTransport(t)}]`, () => ({
    bytes: text(),
    headers: headersOf(t),
    chunks: t.chunks,
  }));
}

function json(label: string, value: unknown, t: Transport): BodySpec {
  return withTransport(label, () => Buffer.from(JSON.stringify(value)), t);
}

export const NO_BODY: BodySpec = bodySpec('no body', () => ({ headers: {} }));

const anyType = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
  fc.constantFrom('message', 'a\nb', 'x\r\ny', '\r', ' lead', 'é'),
);

/** `{ type, payload? }` as the docs describe it. */
export const validMessage: fc.Arbitrary<{ type: string; payload?: unknown }> = fc.record(
  { type: anyType, payload: fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }) },
  { requiredKeys: ['type'] },
);

/** Bodies that are neither JSON nor of the right shape, and bodies at and past the size limit. */
function junkBodies(
  validShape: fc.Arbitrary<Record<string, unknown>>,
  padWith: (limit: number) => Buffer,
): fc.Arbitrary<BodySpec> {
  return fc.oneof(
    fc.constant(NO_BODY),
    fc
      .tuple(fc.jsonValue({ maxDepth: 3 }), transport)
      .map(([value, t]) => json(`json ${abbreviate(JSON.stringify(value), 30)}`, value, t)),
    fc
      .tuple(fc.uint8Array({ maxLength: 200 }), transport)
      .map(([bytes, t]) =>
        withTransport(
          `bytes ${Buffer.from(bytes).toString('hex').slice(0, 30)}…(${bytes.length})`,
          () => Buffer.from(bytes),
          t,
        ),
      ),
    fc
      .tuple(fc.string({ unit: 'binary', maxLength: 100 }), transport)
      .map(([text, t]) => withTransport(`text ${abbreviate(text, 30)}`, () => Buffer.from(text), t)),
    fc
      .tuple(
        validShape,
        fc.constantFrom('type', 'payload', 'id', 'extra', '__proto__'),
        fc.jsonValue({ maxDepth: 2 }),
        transport,
      )
      .map(([shape, key, value, t]) => {
        const text = `{${[...Object.entries(shape), [key, value]].map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(', ')}}`;
        return withTransport(`shape with ${key}=${abbreviate(JSON.stringify(value), 20)}`, () => Buffer.from(text), t);
      }),
    fc.tuple(fc.integer({ min: -24, max: 24 }), transport).map(([delta, t]) =>
      bodySpec(`limit${delta >= 0 ? '+' : ''}${delta} bytes [${describeTransport(t)}]`, (limit) => {
        return { bytes: padWith(limit + delta), headers: headersOf(t), chunks: t.chunks };
      }),
    ),
    fc
      .tuple(fc.jsonValue({ maxDepth: 1 }), fc.constantFrom('gzip', 'deflate', 'br', 'identity'))
      .map(([value, encoding]) =>
        bodySpec(`${encoding}-encoded ${abbreviate(JSON.stringify(value), 20)}`, () => ({
          bytes: encoding === 'gzip' ? gzipSync(JSON.stringify(value)) : Buffer.from(JSON.stringify(value)),
          headers: { 'content-type': 'application/json', 'content-encoding': encoding },
        })),
      ),
  );
}

/** A JSON text of exactly `size` bytes when it can be: `head`, a string of filler, `tail`. */
function paddedJson(head: string, tail: string, size: number): Buffer {
  const room = Math.max(0, size - Buffer.byteLength(head) - Buffer.byteLength(tail));
  return Buffer.from(head + 'a'.repeat(room) + tail);
}

/** Broadcast and dispatch bodies: valid ones, junk, near the limit, deeply nested, overflowing numbers. */
export const messageBody: fc.Arbitrary<BodySpec> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .tuple(validMessage, transport)
      .map(([msg, t]) => json(`msg ${abbreviate(JSON.stringify(msg), 40)}`, msg, t)),
  },
  {
    weight: 4,
    arbitrary: junkBodies(validMessage, (size) => paddedJson('{"type": "big", "payload": "', '"}', size)),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.oneof(
          fc.integer({ min: 1, max: MAX_PAYLOAD_DEPTH + 8 }),
          fc.integer({ min: MAX_PAYLOAD_DEPTH - 8, max: 30_000 }),
        ),
        fc.boolean(),
      )
      .map(([depth, arrays]) =>
        bodySpec(`payload of ${arrays ? 'array' : 'object'}s nested ${depth} deep`, () => {
          const payload = arrays
            ? '['.repeat(depth) + ']'.repeat(depth)
            : '{"a": '.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);
          return {
            bytes: Buffer.from(`{"type": "deep", "payload": ${payload}}`),
            headers: { 'content-type': 'application/json' },
          };
        }),
      ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('1e999', '-1e400', '[1, 2e308]', '{"n": 1e999}').map((number) =>
      bodySpec(`payload ${number}`, () => ({
        bytes: Buffer.from(`{"type": "num", "payload": ${number}}`),
        headers: { 'content-type': 'application/json' },
      })),
    ),
  },
);

/** Channel ids a client may choose: unicode, slashes, dots, percent signs... */
export const chosenChannelId: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 16 }),
  fc.constantFrom('.', '..', 'a/b', '%', '%41', '?x', '#', ' ', 'news', 'eric', 'a b', 'null'),
  fc.string({ unit: 'grapheme-ascii', minLength: 100, maxLength: 1500 }),
);

const validSettings: fc.Arbitrary<Record<string, unknown>> = fc.record(
  { id: chosenChannelId, streamDelaySeconds: fc.constant(0), retryTimeoutMilliseconds: fc.nat(100_000) },
  { requiredKeys: [] },
);

/** `POST /channels` bodies: valid settings, wrong values, junk, near the limit (padded with whitespace). */
export const channelBody: fc.Arbitrary<BodySpec> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(validSettings, transport)
      .map(([settings, t]) => json(`settings ${abbreviate(JSON.stringify(settings), 40)}`, settings, t)),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({
        key: fc.constantFrom('id', 'streamDelaySeconds', 'retryTimeoutMilliseconds'),
        value: fc.oneof(fc.constantFrom('', -1, -0.5, '1', null, true, [], {}, 'x'), fc.integer({ max: -1 })),
      })
      .chain(({ key, value }) =>
        transport.map((t) =>
          json(
            `settings ${key}=${JSON.stringify(value)}`,
            { [key]: key === 'id' && typeof value === 'number' ? value : value },
            t,
          ),
        ),
      ),
  },
  {
    weight: 3,
    arbitrary: junkBodies(validSettings, (size) => {
      const text = '{"retryTimeoutMilliseconds": 7}';
      return Buffer.from(text + ' '.repeat(Math.max(0, size - text.length)));
    }),
  },
);
