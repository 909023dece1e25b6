import { expect } from '@jest/globals';
import type fc from 'fast-check';
import { MAX_PAYLOAD_DEPTH } from '../../../src/core/payload-depth.js';
import { pythonJsonDumps, type ChannelContainer } from '../../../src/index.js';
import {
  ChannelsModel,
  describeChannelRef,
  describeListenerRef,
  viewOf,
  type ChannelRef,
  type ExpectedMessage,
  type ListenerRef,
} from './channels-model.js';
import { abbreviate, until } from './deadline.js';
import { fingerprint } from './fingerprint.js';
import { ourErrorName } from './our-errors.js';
import { exchange, StreamConnection } from './socket-wire.js';

/** The server under test, shared by every command of a run. */
export interface SocketReal {
  path: string;
  container: ChannelContainer;
  maxCommandBytes: number;
  /** What the server logged as errors (its logger points here): any is a failure. */
  loggedErrors: string[];
}

type SocketCommand = fc.AsyncCommand<ChannelsModel, SocketReal>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Marks a message without `p`. */
export const NO_PAYLOAD = Symbol('no payload');

/** A message a command carries, as generated. */
export interface GeneratedMessage {
  type: string;
  payload: unknown;
}

/** Command text as the Python client writes it (`json.dumps`, ASCII only) or as `JSON.stringify` does (UTF-8). */
export type Encoding = 'python' | 'json';

function encode(command: Record<string, unknown>, encoding: Encoding): Buffer {
  return Buffer.from(encoding === 'python' ? pythonJsonDumps(command) : JSON.stringify(command), 'utf8');
}

function withMessage(command: Record<string, unknown>, msg: GeneratedMessage): Record<string, unknown> {
  return msg.payload === NO_PAYLOAD ? { ...command, t: msg.type } : { ...command, t: msg.type, p: msg.payload };
}

/** What the server holds once it has parsed the command: the message as JSON gave it back. */
function expectedOf(bytes: Buffer): ExpectedMessage {
  const { t, p } = JSON.parse(bytes.toString('utf8')) as { t: string; p?: unknown };
  return { type: t, payload: p };
}

function describeMessage(msg: GeneratedMessage): string {
  if (msg.payload === NO_PAYLOAD) return abbreviate(msg.type, 20);
  return `${abbreviate(msg.type, 20)}, ${abbreviate(JSON.stringify(msg.payload), 30)}`;
}

function expectAnswer(answer: string, expected: 'ack' | 'uuid' | string, command: string): void {
  const context = `${command} answered ${abbreviate(answer)}`;
  if (expected === 'ack') expect({ context, answer }).toEqual({ context, answer: 'ack' });
  else if (expected === 'uuid') expect({ context, isUuid: UUID.test(answer) }).toEqual({ context, isUuid: true });
  else expect({ context, error: ourErrorName(answer) }).toEqual({ context, error: expected });
}

/** The error an id lookup gives, or undefined when both ids exist. */
function lookupError(model: ChannelsModel, channelId: string, listenerId?: string): string | undefined {
  if (!model.hasChannel(channelId)) return 'InvalidChannelException';
  if (listenerId !== undefined && !model.hasListener(channelId, listenerId)) return 'InvalidListenerException';
  return undefined;
}

/** Checks one streamed line: the Python JSON of `{ event, retry, data }` for the expected message. */
export function expectStreamLine(line: string | undefined, msg: ExpectedMessage, command: string): void {
  const context = `${command}: line ${abbreviate(line ?? '<stream ended>')}`;
  expect({ context, endsLine: line?.endsWith('\n') }).toEqual({ context, endsLine: true });
  const event = JSON.parse(line as string) as { event: unknown; retry: unknown; data: unknown };
  expect({ context, event: event.event, retry: event.retry, data: fingerprint(event.data) }).toEqual({
    context,
    event: msg.type,
    retry: 5,
    data: fingerprint(msg.payload ?? null),
  });
}

/** Every command checks, once done, that the server holds what the model says and logged no error. */
abstract class BaseCommand implements SocketCommand {
  check(): boolean {
    return true;
  }

  async run(model: ChannelsModel, real: SocketReal): Promise<void> {
    await this.execute(model, real);
    const context = `after ${String(this)}`;
    expect({ context, state: viewOf(real.container) }).toEqual({ context, state: model.view() });
    expect({ context, loggedErrors: real.loggedErrors }).toEqual({ context, loggedErrors: [] });
  }

  protected abstract execute(model: ChannelsModel, real: SocketReal): Promise<void>;
  abstract toString(): string;
}

export class CreateChannel extends BaseCommand {
  constructor(readonly encoding: Encoding) {
    super();
  }

  protected async execute(model: ChannelsModel, real: SocketReal): Promise<void> {
    const answer = await exchange(real.path, encode({ v: 'c' }, this.encoding), String(this));
    expectAnswer(answer, 'uuid', String(this));
    model.addChannel(answer);
  }

  toString(): string {
    return `c(${this.encoding})`;
  }
}

export class Register extends BaseCommand {
  constructor(
    readonly channel: ChannelRef,
    readonly encoding: Encoding,
  ) {
    super();
  }

  protected async execute(model: ChannelsModel, real: SocketReal): Promise<void> {
    const c = model.resolveChannel(this.channel);
    const answer = await exchange(real.path, encode({ v: 'r', c }, this.encoding), String(this));
    const error = lookupError(model, c);
    expectAnswer(answer, error ?? 'uuid', String(this));
    if (error === undefined) model.addListener(c, answer);
  }

  toString(): string {
    return `r(${describeChannelRef(this.channel)}, ${this.encoding})`;
  }
}

export class Dispatch extends BaseCommand {
  constructor(
    readonly channel: ChannelRef,
    readonly listener: ListenerRef,
    readonly msg: GeneratedMessage,
    readonly encoding: Encoding,
  ) {
    super();
  }

  protected async execute(model: ChannelsModel, real: SocketReal): Promise<void> {
    const c = model.resolveChannel(this.channel);
    const r = model.resolveListener(c, this.listener);
    const bytes = encode(withMessage({ v: 'd', c, r }, this.msg), this.encoding);
    const answer = await exchange(real.path, bytes, String(this));
    const error = lookupError(model, c, r);
    expectAnswer(answer, error ?? 'ack', String(this));
    if (error === undefined) model.dispatch(c, r, expectedOf(bytes));
  }

  toString(): string {
    const target = `${describeChannelRef(this.channel)}, ${describeListenerRef(this.listener)}`;
    return `d(${target}, ${describeMessage(this.msg)}, ${this.encoding})`;
  }
}

export class Broadcast extends BaseCommand {
  constructor(
    readonly channel: ChannelRef,
    readonly msg: GeneratedMessage,
    readonly encoding: Encoding,
  ) {
    super();
  }

  protected async execute(model: ChannelsModel, real: SocketReal): Promise<void> {
    const c = model.resolveChannel(this.channel);
    const bytes = encode(withMessage({ v: 'b', c }, this.msg), this.encoding);
    const answer = await exchange(real.path, bytes, String(this));
    const error = lookupError(model, c);
    expectAnswer(answer, error ?? 'ack', String(this));
    if (error === undefined) model.broadcast(c, expectedOf(bytes));
  }

  toString(): string {
    return `b(${describeChannelRef(this.channel)}, ${describeMessage(this.msg)}, ${this.encoding})`;
  }
}

export class RemoveListener extends BaseCommand {
  constructor(
    readonly channel: ChannelRef,
    readonly listener: ListenerRef,
    readonly encoding: Encoding,
  ) {
    super();
  }

  protected async execute(model: ChannelsModel, real: SocketReal): Promise<void> {
    const c = model.resolveChannel(this.channel);
    const r = model.resolveListener(c, this.listener);
    const answer = await exchange(real.path, encode({ v: 'rl', c, r }, this.encoding), String(this));
    const error = lookupError(model, c, r);
    expectAnswer(answer, error ?? 'ack', String(this));
    if (error === undefined) model.removeListener(c, r);
  }

  toString(): string {
    return `rl(${describeChannelRef(this.channel)}, ${describeListenerRef(this.listener)}, ${this.encoding})`;
  }
}

export class RemoveChannel extends BaseCommand {
  constructor(
    readonly channel: ChannelRef,
    readonly encoding: Encoding,
  ) {
    super();
  }

  protected async execute(model: ChannelsModel, real: SocketReal): Promise<void> {
    const c = model.resolveChannel(this.channel);
    const answer = await exchange(real.path, encode({ v: 'rc', c }, this.encoding), String(this));
    const error = lookupError(model, c);
    expectAnswer(answer, error ?? 'ack', String(this));
    if (error === undefined) model.removeChannel(c);
  }

  toString(): string {
    return `rc(${describeChannelRef(this.channel)}, ${this.encoding})`;
  }
}

/** `l`: streams the listener's queue, which must hold exactly what the model expects, in order. */
export class Listen extends BaseCommand {
  constructor(
    readonly channel: ChannelRef,
    readonly listener: ListenerRef,
    readonly encoding: Encoding,
  ) {
    super();
  }

  protected async execute(model: ChannelsModel, real: SocketReal): Promise<void> {
    const c = model.resolveChannel(this.channel);
    const r = model.resolveListener(c, this.listener);
    const bytes = encode({ v: 'l', c, r }, this.encoding);
    const error = lookupError(model, c, r);
    if (error !== undefined) {
      expectAnswer(await exchange(real.path, bytes, String(this)), error, String(this));
      return;
    }
    const listener = real.container.get(c).getListener(r);
    const stream = StreamConnection.open(real.path, bytes);
    try {
      for (const msg of model.drain(c, r)) expectStreamLine(await stream.nextLine(String(this)), msg, String(this));
      await until(() => listener.isRunning(), `${String(this)} to start the listener`);
    } finally {
      await stream.close();
    }
    await until(() => !listener.isRunning(), `${String(this)}: the listener to stop once the client left`);
  }

  toString(): string {
    return `l(${describeChannelRef(this.channel)}, ${describeListenerRef(this.listener)}, ${this.encoding})`;
  }
}

/** `w`: a fresh listener gets a broadcast sent while it watches, and is removed once the client leaves. */
export class Watch extends BaseCommand {
  constructor(
    readonly channel: ChannelRef,
    readonly msg: GeneratedMessage,
    readonly encoding: Encoding,
  ) {
    super();
  }

  protected async execute(model: ChannelsModel, real: SocketReal): Promise<void> {
    const c = model.resolveChannel(this.channel);
    const bytes = encode({ v: 'w', c }, this.encoding);
    const error = lookupError(model, c);
    if (error !== undefined) {
      expectAnswer(await exchange(real.path, bytes, String(this)), error, String(this));
      return;
    }
    const channel = real.container.get(c);
    const known = new Set(model.listenerIds(c));
    const stream = StreamConnection.open(real.path, bytes);
    let watcher: string | undefined;
    try {
      await until(() => channel.getConnections().length > known.size, `${String(this)} to add its listener`);
      watcher = channel.getConnections().find(({ listener }) => !known.has(listener.id))?.listener.id;
      await until(() => channel.getListener(watcher as string).isRunning(), `${String(this)} to start its listener`);
      const broadcast = encode(withMessage({ v: 'b', c }, this.msg), this.encoding);
      expectAnswer(await exchange(real.path, broadcast, `${String(this)}: b`), 'ack', `${String(this)}: b`);
      const msg = expectedOf(broadcast);
      model.broadcast(c, msg);
      expectStreamLine(await stream.nextLine(String(this)), msg, String(this));
    } finally {
      await stream.close();
    }
    await until(() => !channel.hasListener(watcher as string), `${String(this)}: its listener to be removed`);
  }

  toString(): string {
    return `w(${describeChannelRef(this.channel)}, then b ${describeMessage(this.msg)}, ${this.encoding})`;
  }
}

/** A broadcast whose command is `limit + delta` bytes: accepted up to the limit, refused past it. */
export class HugeBroadcast extends BaseCommand {
  constructor(
    readonly channel: ChannelRef,
    readonly delta: number,
    readonly filler: string,
  ) {
    super();
  }

  protected async execute(model: ChannelsModel, real: SocketReal): Promise<void> {
    const c = model.resolveChannel(this.channel);
    const head = Buffer.from(JSON.stringify({ v: 'b', c, t: 'huge', p: '' }).slice(0, -2), 'utf8');
    const tail = Buffer.from('"}');
    const target = real.maxCommandBytes + this.delta;
    const room = Math.max(0, target - head.length - tail.length);
    const unit = Buffer.byteLength(this.filler);
    const text = this.filler.repeat(Math.floor(room / unit)) + 'a'.repeat(room % unit);
    const bytes = Buffer.concat([head, Buffer.from(text, 'utf8'), tail]);
    const answer = await exchange(real.path, bytes, String(this));
    if (bytes.length > real.maxCommandBytes) {
      expect(answer).toBe(`InvalidMessageFormat('Command exceeds ${real.maxCommandBytes} bytes')`);
      return;
    }
    const error = lookupError(model, c);
    expectAnswer(answer, error ?? 'ack', String(this));
    if (error === undefined) model.broadcast(c, { type: 'huge', payload: text });
  }

  toString(): string {
    return `b(${describeChannelRef(this.channel)}, huge: limit${this.delta >= 0 ? '+' : ''}${this.delta} bytes of ${JSON.stringify(this.filler)})`;
  }
}

/**
 * A broadcast whose payload nests arrays or objects `depth` levels deep: accepted up to
 * `MAX_PAYLOAD_DEPTH`, refused past it (before the channel is looked up, as any malformed message is).
 */
export class DeepBroadcast extends BaseCommand {
  constructor(
    readonly channel: ChannelRef,
    readonly depth: number,
    readonly shape: 'array' | 'object',
  ) {
    super();
  }

  protected async execute(model: ChannelsModel, real: SocketReal): Promise<void> {
    const c = model.resolveChannel(this.channel);
    const payload =
      this.shape === 'array'
        ? '['.repeat(this.depth) + ']'.repeat(this.depth)
        : '{"a": '.repeat(this.depth - 1) + '{}' + '}'.repeat(this.depth - 1);
    const bytes = Buffer.from(`{"v": "b", "c": ${JSON.stringify(c)}, "t": "deep", "p": ${payload}}`, 'utf8');
    const answer = await exchange(real.path, bytes, String(this));
    const error = this.depth > MAX_PAYLOAD_DEPTH ? 'InvalidMessageFormat' : lookupError(model, c);
    expectAnswer(answer, error ?? 'ack', String(this));
    if (error === undefined) model.broadcast(c, expectedOf(bytes));
  }

  toString(): string {
    return `b(${describeChannelRef(this.channel)}, payload of ${this.shape}s nested ${this.depth} deep)`;
  }
}

/** Bytes the harness does not predict an answer for: rendered at run time, so they may hold real ids. */
export interface Junk {
  label: string;
  render(model: ChannelsModel): Buffer;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** `l` or `w` when the server will take `bytes` as a valid stream command, else undefined. */
function streamVerbOf(bytes: Buffer, real: SocketReal): 'l' | 'w' | undefined {
  if (bytes.length > real.maxCommandBytes) return undefined;
  let command: unknown;
  try {
    command = JSON.parse(utf8.decode(bytes));
  } catch {
    return undefined;
  }
  if (typeof command !== 'object' || command === null || Array.isArray(command)) return undefined;
  const { v, c, r } = command as Record<string, unknown>;
  if (typeof c !== 'string' || !real.container.has(c)) return undefined;
  if (v === 'w') return 'w';
  if (v === 'l' && typeof r === 'string' && real.container.get(c).hasListener(r)) return 'l';
  return undefined;
}

/**
 * Anything else: answered and closed within the deadline with `ack`, an id or an error of ours; an
 * error changes nothing. (A junk that happens to be a valid stream command is streamed, then closed.)
 */
export class SendJunk extends BaseCommand {
  constructor(readonly junk: Junk) {
    super();
  }

  protected async execute(model: ChannelsModel, real: SocketReal): Promise<void> {
    const bytes = this.junk.render(model);
    const streamVerb = streamVerbOf(bytes, real);
    if (streamVerb !== undefined) {
      await this.stream(bytes, streamVerb, real);
      model.resyncFrom(real.container);
      return;
    }
    const answer = await exchange(real.path, bytes, String(this));
    const context = `${String(this)} sent ${abbreviate(bytes.toString('utf8'))}, answered ${abbreviate(answer)}`;
    const kind =
      answer === 'ack' ? 'ack' : UUID.test(answer) ? 'id' : ourErrorName(answer) !== undefined ? 'error' : '?';
    expect({ context, kind: kind === '?' ? 'not ack, an id or an error of ours' : 'ok' }).toEqual({
      context,
      kind: 'ok',
    });
    if (kind === 'error') expect({ context, state: viewOf(real.container) }).toEqual({ context, state: model.view() });
    else model.resyncFrom(real.container);
  }

  private async stream(bytes: Buffer, verb: 'l' | 'w', real: SocketReal): Promise<void> {
    const { c, r } = JSON.parse(bytes.toString('utf8')) as { c: string; r: string };
    const channel = real.container.get(c);
    const before = new Set(channel.getConnections().map(({ listener }) => listener.id));
    const started = (): boolean =>
      verb === 'l' ? channel.getListener(r).isRunning() : channel.getConnections().length > before.size;
    const stream = StreamConnection.open(real.path, bytes);
    try {
      await until(started, `${String(this)} to start streaming`);
    } finally {
      await stream.close();
    }
    await until(
      () =>
        verb === 'l'
          ? !channel.getListener(r).isRunning()
          : channel.getConnections().every(({ listener }) => before.has(listener.id)),
      `${String(this)}: its listener to stop once the client left`,
    );
  }

  toString(): string {
    return `junk(${this.junk.label})`;
  }
}
