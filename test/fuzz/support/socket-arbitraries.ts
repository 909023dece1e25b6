import fc from 'fast-check';
import { MAX_PAYLOAD_DEPTH } from '../../../src/core/payload-depth.js';
import { pythonJsonDumps, SOCKET_VERBS } from '../../../src/index.js';
import type { ChannelRef, ChannelsModel, ListenerRef } from './channels-model.js';
import { channelRef, listenerRef } from './refs.js';
import { abbreviate } from './deadline.js';
import {
  Broadcast,
  CreateChannel,
  DeepBroadcast,
  Dispatch,
  HugeBroadcast,
  Listen,
  NO_PAYLOAD,
  Register,
  RemoveChannel,
  RemoveListener,
  SendJunk,
  Watch,
  type Encoding,
  type GeneratedMessage,
  type Junk,
  type SocketReal,
} from './socket-commands.js';

export const messageType: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('message', 'error', 'news', ''),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
);

export const payload: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(NO_PAYLOAD),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }),
);

export const message: fc.Arbitrary<GeneratedMessage> = fc.record({ type: messageType, payload });

export const encoding: fc.Arbitrary<Encoding> = fc.constantFrom('python', 'json');

/** A field of a junk command: absent, a real id (chosen at run time), or any JSON value (wrong types). */
type JunkField = { absent: true } | { channelId: number } | { listenerId: number } | { value: unknown };

const junkField: fc.Arbitrary<JunkField> = fc.oneof(
  fc.constant({ absent: true as const }),
  fc.nat(7).map((channelId) => ({ channelId })),
  fc.nat(7).map((listenerId) => ({ listenerId })),
  fc.jsonValue({ maxDepth: 2, stringUnit: 'binary' }).map((value) => ({ value })),
);

function renderField(field: JunkField, model: ChannelsModel): unknown {
  if ('channelId' in field) return model.resolveChannel({ known: field.channelId });
  if ('listenerId' in field) {
    const owner = model.resolveChannel({ known: field.listenerId });
    return model.resolveListener(owner, { known: field.listenerId });
  }
  return 'value' in field ? field.value : undefined;
}

function describeField(field: JunkField): string {
  if ('absent' in field) return '-';
  if ('channelId' in field) return `ch#${field.channelId}`;
  if ('listenerId' in field) return `l#${field.listenerId}`;
  return abbreviate(JSON.stringify(field.value), 24);
}

/** A JSON object text with the keys as given, in order, duplicates and `__proto__` included. */
function objectText(entries: [string, unknown][]): string {
  return `{${entries.map(([key, value]) => `${JSON.stringify(key)}: ${JSON.stringify(value)}`).join(', ')}}`;
}

/** A valid command of any verb, rendered with real ids: the base of truncations and mutations. */
interface Template {
  verb: string;
  channel: ChannelRef;
  listener: ListenerRef;
  msg: GeneratedMessage;
  encoding: Encoding;
}

const template: fc.Arbitrary<Template> = fc.record({
  verb: fc.constantFrom(...SOCKET_VERBS),
  channel: channelRef,
  listener: listenerRef,
  msg: message,
  encoding,
});

function renderTemplate(t: Template, model: ChannelsModel): Buffer {
  const c = model.resolveChannel(t.channel);
  const command: Record<string, unknown> = { v: t.verb, c, r: model.resolveListener(c, t.listener), t: t.msg.type };
  if (t.msg.payload !== NO_PAYLOAD) command.p = t.msg.payload;
  return Buffer.from(t.encoding === 'python' ? pythonJsonDumps(command) : JSON.stringify(command), 'utf8');
}

interface Mutation {
  kind: 'replace' | 'insert' | 'delete';
  at: number;
  byte: number;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('replace', 'insert', 'delete'),
  at: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  byte: fc.oneof(fc.constantFrom(...Buffer.from('{}[]",:\\ 0aelnrtuv')), fc.integer({ min: 0, max: 255 })),
});

function mutate(bytes: Buffer, mutations: Mutation[]): Buffer {
  let result = bytes;
  for (const { kind, at, byte } of mutations) {
    const index = Math.floor(at * result.length);
    const head = result.subarray(0, index);
    if (kind === 'replace') result = Buffer.concat([head, Buffer.of(byte), result.subarray(index + 1)]);
    else if (kind === 'insert') result = Buffer.concat([head, Buffer.of(byte), result.subarray(index)]);
    else result = Buffer.concat([head, result.subarray(index + 1)]);
  }
  return result;
}

/** Prints as its label in counterexamples. */
function junkOf(label: string, render: (model: ChannelsModel) => Buffer): Junk {
  const toString = (): string => label;
  return Object.assign({ label, render }, { toString, [fc.toStringMethod]: toString });
}

function fixed(label: string, bytes: Buffer): Junk {
  return junkOf(label, () => bytes);
}

const verbOrJunk: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SOCKET_VERBS) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
);

/** Everything the harness throws at the server without predicting the answer. */
export const junk: fc.Arbitrary<Junk> = fc.oneof(
  fc
    .uint8Array({ maxLength: 300 })
    .map((bytes) =>
      fixed(`bytes ${Buffer.from(bytes).toString('hex').slice(0, 40)}…(${bytes.length})`, Buffer.from(bytes)),
    ),
  fc.string({ unit: 'binary', maxLength: 200 }).map((text) => fixed(`text ${abbreviate(text, 30)}`, Buffer.from(text))),
  fc
    .jsonValue({ maxDepth: 2 })
    .filter((value) => typeof value !== 'object' || value === null || Array.isArray(value))
    .map((value) =>
      fixed(`not an object ${abbreviate(JSON.stringify(value), 30)}`, Buffer.from(JSON.stringify(value))),
    ),
  fc.record({ v: verbOrJunk, c: junkField, r: junkField, t: junkField, p: junkField }).map((fields): Junk =>
    junkOf(
      `wrong types {${Object.entries(fields)
        .map(([key, field]) => `${key}: ${key === 'v' ? JSON.stringify(field) : describeField(field as JunkField)}`)
        .join(', ')}}`,
      (model) => {
        const { v, ...rest } = fields;
        const entries: [string, unknown][] = [['v', v]];
        for (const [key, field] of Object.entries(rest)) {
          if (!('absent' in field)) entries.push([key, renderField(field, model)]);
        }
        return Buffer.from(objectText(entries));
      },
    ),
  ),
  fc
    .record({ base: template, cut: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }) })
    .map(({ base, cut }): Junk =>
      junkOf(`${base.verb} command cut at ${(cut * 100).toFixed(0)}%`, (model) => {
        const bytes = renderTemplate(base, model);
        return bytes.subarray(0, Math.floor(cut * bytes.length));
      }),
    ),
  fc
    .record({ base: template, mutations: fc.array(mutation, { minLength: 1, maxLength: 4 }) })
    .map(({ base, mutations }): Junk =>
      junkOf(
        `${base.verb} command mutated ${mutations.map((m) => `${m.kind}@${(m.at * 100).toFixed(0)}%:${m.byte}`).join(',')}`,
        (model) => mutate(renderTemplate(base, model), mutations),
      ),
    ),
  fc
    .record({
      v: fc.constantFrom(...SOCKET_VERBS),
      channel: fc.nat(7),
      extra: fc.array(
        fc.tuple(
          fc.constantFrom('__proto__', 'constructor', 'toString', 'pattern', 'data', 'v', 'c', 'p', 'id'),
          fc.jsonValue({ maxDepth: 4 }),
        ),
        { minLength: 1, maxLength: 4 },
      ),
    })
    .map(({ v, channel, extra }): Junk =>
      junkOf(`nested junk {v: ${v}, c: ch#${channel}, ${extra.map(([key]) => key).join(', ')}}`, (model) =>
        Buffer.from(objectText([['v', v], ['c', model.resolveChannel({ known: channel })], ['t', 'x'], ...extra])),
      ),
    ),
);

/** Every command kind, weighted so that most runs build up channels and listeners worth hitting. */
export function socketCommands(): fc.Arbitrary<fc.AsyncCommand<ChannelsModel, SocketReal>>[] {
  return [
    fc.oneof(
      { weight: 6, arbitrary: encoding.map((e) => new CreateChannel(e)) },
      { weight: 8, arbitrary: fc.tuple(channelRef, encoding).map(([c, e]) => new Register(c, e)) },
      {
        weight: 8,
        arbitrary: fc.tuple(channelRef, listenerRef, message, encoding).map(([c, l, m, e]) => new Dispatch(c, l, m, e)),
      },
      { weight: 6, arbitrary: fc.tuple(channelRef, message, encoding).map(([c, m, e]) => new Broadcast(c, m, e)) },
      {
        weight: 3,
        arbitrary: fc.tuple(channelRef, listenerRef, encoding).map(([c, l, e]) => new RemoveListener(c, l, e)),
      },
      { weight: 2, arbitrary: fc.tuple(channelRef, encoding).map(([c, e]) => new RemoveChannel(c, e)) },
      { weight: 6, arbitrary: fc.tuple(channelRef, listenerRef, encoding).map(([c, l, e]) => new Listen(c, l, e)) },
      { weight: 2, arbitrary: fc.tuple(channelRef, message, encoding).map(([c, m, e]) => new Watch(c, m, e)) },
      { weight: 20, arbitrary: junk.map((j) => new SendJunk(j)) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(channelRef, fc.integer({ min: -40, max: 40 }), fc.constantFrom('a', 'é', '😀'))
          .map(([c, delta, filler]) => new HugeBroadcast(c, delta, filler)),
      },
      {
        weight: 2,
        arbitrary: fc
          .tuple(
            channelRef,
            fc.oneof(
              fc.integer({ min: 1, max: MAX_PAYLOAD_DEPTH + 8 }),
              fc.integer({ min: MAX_PAYLOAD_DEPTH - 8, max: 200_000 }),
            ),
            fc.constantFrom('array' as const, 'object' as const),
          )
          .map(([c, depth, shape]) => new DeepBroadcast(c, depth, shape)),
      },
    ),
  ];
}
