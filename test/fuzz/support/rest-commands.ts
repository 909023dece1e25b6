import { expect } from '@jest/globals';
import type fc from 'fast-check';
import type { ChannelContainer } from '../../../src/index.js';
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
import { httpCall, SseConnection, type HttpAnswer, type HttpCall } from './http-wire.js';
import type { BodySpec, RenderedBody } from './rest-bodies.js';
import type { ParsedSseEvent } from './sse-parser.js';
import {
  channelSettingsOf,
  decodeBody,
  expectedEventType,
  expectedStringData,
  messageOf,
  type DecodedBody,
} from './rest-oracle.js';

/** The app under test, shared by every command of a run. */
export interface RestReal {
  origin: string;
  /** Where the endpoints are mounted, e.g. `/eric-sse`. */
  base: string;
  container: ChannelContainer;
  bodyLimit: number;
  /** What the app logged as errors: any is a failure. */
  loggedErrors: string[];
}

type RestCommand = fc.AsyncCommand<ChannelsModel, RestReal>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function channelPath(real: RestReal, channelId: string): string {
  return `${real.base}/channels/${encodeURIComponent(channelId)}`;
}

function listenerPath(real: RestReal, channelId: string, listenerId: string): string {
  return `${channelPath(real, channelId)}/listeners/${encodeURIComponent(listenerId)}`;
}

function call(method: string, path: string, body?: RenderedBody): HttpCall {
  return { method, path, body: body?.bytes, headers: body?.headers, chunks: body?.chunks };
}

/** What a request is expected to get: a status (`'4xx'`: any client error), and the error class when it is ours. */
interface Expected {
  status: number | '4xx';
  error?: string;
}

function describeAnswer(answer: HttpAnswer): string {
  return `${answer.status} ${abbreviate(answer.body.toString('utf8'), 80)}`;
}

/** Asserts the status, then the body: the documented JSON for a 2xx, `{ statusCode, error, message }` for a 4xx. */
function expectAnswer(answer: HttpAnswer, expected: Expected, command: string): unknown {
  const context = `${command} answered ${describeAnswer(answer)}`;
  const status = expected.status === '4xx' && answer.status >= 400 && answer.status < 500 ? '4xx' : answer.status;
  expect({ context, status }).toEqual({ context, status: expected.status });
  if (answer.status === 204) {
    expect({ context, body: answer.body.length }).toEqual({ context, body: 0 });
    return undefined;
  }
  expect({ context, json: /^application\/json/.test(answer.headers['content-type'] ?? '') }).toEqual({
    context,
    json: true,
  });
  const body = JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;
  if (answer.status >= 400) expectErrorBody(body, expected, context);
  return body;
}

/**
 * The error JSON: `{ statusCode, error, message }` from the module's endpoints. Off them (`'4xx'`, a path
 * no route matches) Nest answers itself, and its body parser may leave `error` out for a body it
 * cannot inflate or parse: there only `statusCode` and `message` are required.
 */
function expectErrorBody(body: Record<string, unknown>, expected: Expected, context: string): void {
  const keys = Object.keys(body).sort();
  const ours = expected.status !== '4xx';
  expect({ context, keys: ours ? keys : keys.filter((key) => key !== 'error') }).toEqual({
    context,
    keys: ours ? ['error', 'message', 'statusCode'] : ['message', 'statusCode'],
  });
  expect({
    context,
    statusCode: body.statusCode,
    error: ours || 'error' in body ? typeof body.error : 'string',
    message: typeof body.message,
  }).toEqual({
    context,
    statusCode: ours ? expected.status : body.statusCode,
    error: 'string',
    message: 'string',
  });
  if (expected.error !== undefined) expect({ context, error: body.error }).toEqual({ context, error: expected.error });
}

// An empty id leaves an empty path segment, which no route matches: Nest answers (a 404, or a 400 from
// its own body parser), not the module.
function channelMissing(model: ChannelsModel, channelId: string): Expected | undefined {
  if (channelId === '') return { status: '4xx' };
  return model.hasChannel(channelId) ? undefined : { status: 404, error: 'InvalidChannelException' };
}

function listenerMissing(model: ChannelsModel, channelId: string, listenerId: string): Expected | undefined {
  if (listenerId === '') return { status: '4xx' };
  return (
    channelMissing(model, channelId) ??
    (model.hasListener(channelId, listenerId) ? undefined : { status: 404, error: 'InvalidListenerException' })
  );
}

/** 400 unless the body decodes to a documented message; the message otherwise. */
function messageOutcome(decoded: DecodedBody): Expected | ExpectedMessage {
  if ('refused' in decoded) return { status: decoded.refused };
  const msg = messageOf(decoded.value);
  return msg === undefined ? { status: 400, error: 'InvalidMessageFormat' } : msg;
}

/** Checks one streamed event against the message the model expected. */
export function expectEvent(event: ParsedSseEvent | undefined, msg: ExpectedMessage, command: string): void {
  const context = `${command}: event ${event === undefined ? '<stream ended>' : abbreviate(JSON.stringify(event), 80)}`;
  expect({ context, arrived: event !== undefined }).toEqual({ context, arrived: true });
  const { type, data } = event as ParsedSseEvent;
  const actual =
    typeof msg.payload === 'string' ? data : msg.payload === undefined ? data : fingerprint(JSON.parse(data));
  const expected =
    typeof msg.payload === 'string'
      ? expectedStringData(msg.payload)
      : msg.payload === undefined
        ? ''
        : fingerprint(msg.payload);
  expect({ context, type, data: actual }).toEqual({ context, type: expectedEventType(msg.type), data: expected });
}

/** Every command checks, once done, that the app holds what the model says and logged no error. */
abstract class BaseCommand implements RestCommand {
  check(): boolean {
    return true;
  }

  async run(model: ChannelsModel, real: RestReal): Promise<void> {
    try {
      await this.execute(model, real);
    } catch (error) {
      // What the app logged meanwhile usually says why (a message it skipped, an endpoint that threw).
      if (real.loggedErrors.length > 0 && error instanceof Error) {
        error.message += `\nThe app logged:\n${real.loggedErrors.join('\n').slice(0, 2000)}`;
      }
      throw error;
    }
    const context = `after ${String(this)}`;
    expect({ context, state: viewOf(real.container) }).toEqual({ context, state: model.view() });
    expect({ context, loggedErrors: real.loggedErrors }).toEqual({ context, loggedErrors: [] });
  }

  protected abstract execute(model: ChannelsModel, real: RestReal): Promise<void>;
  abstract toString(): string;
}

export class CreateChannel extends BaseCommand {
  constructor(readonly body: BodySpec) {
    super();
  }

  protected async execute(model: ChannelsModel, real: RestReal): Promise<void> {
    const body = this.body.render(real.bodyLimit);
    const answer = await httpCall(real.origin, call('POST', `${real.base}/channels`, body), String(this));
    const decoded = decodeBody(body, real.bodyLimit);
    const settings = 'refused' in decoded ? undefined : channelSettingsOf(decoded.value);
    if ('refused' in decoded) expectAnswer(answer, { status: decoded.refused }, String(this));
    else if (settings === undefined)
      expectAnswer(answer, { status: 400, error: 'InvalidConfigurationException' }, String(this));
    else if (settings.id !== undefined && model.hasChannel(settings.id)) {
      expectAnswer(answer, { status: 409, error: 'InvalidChannelException' }, String(this));
    } else {
      const { id } = expectAnswer(answer, { status: 201 }, String(this)) as { id: string };
      expect({ command: String(this), id: settings.id === undefined ? UUID.test(id) : id }).toEqual({
        command: String(this),
        id: settings.id ?? true,
      });
      model.addChannel(id);
    }
  }

  toString(): string {
    return `POST /channels ${this.body.label}`;
  }
}

export class ListChannels extends BaseCommand {
  protected async execute(model: ChannelsModel, real: RestReal): Promise<void> {
    const answer = await httpCall(real.origin, call('GET', `${real.base}/channels`), String(this));
    expect(expectAnswer(answer, { status: 200 }, String(this))).toEqual({ ids: model.channelIds });
  }

  toString(): string {
    return 'GET /channels';
  }
}

export class Subscribe extends BaseCommand {
  constructor(
    readonly channel: ChannelRef,
    readonly body: BodySpec,
  ) {
    super();
  }

  protected async execute(model: ChannelsModel, real: RestReal): Promise<void> {
    const c = model.resolveChannel(this.channel);
    const path = `${channelPath(real, c)}/listeners`;
    const answer = await httpCall(real.origin, call('POST', path, this.body.render(real.bodyLimit)), String(this));
    const missing = channelMissing(model, c);
    if (missing !== undefined) {
      expectAnswer(answer, missing, String(this));
      return;
    }
    const { id } = expectAnswer(answer, { status: 201 }, String(this)) as { id: string };
    expect({ command: String(this), id: UUID.test(id) }).toEqual({ command: String(this), id: true });
    model.addListener(c, id);
  }

  toString(): string {
    return `POST /channels/${describeChannelRef(this.channel)}/listeners ${this.body.label}`;
  }
}

export class ListListeners extends BaseCommand {
  constructor(readonly channel: ChannelRef) {
    super();
  }

  protected async execute(model: ChannelsModel, real: RestReal): Promise<void> {
    const c = model.resolveChannel(this.channel);
    const answer = await httpCall(real.origin, call('GET', `${channelPath(real, c)}/listeners`), String(this));
    const missing = channelMissing(model, c);
    const body = expectAnswer(answer, missing ?? { status: 200 }, String(this));
    if (missing === undefined) expect(body).toEqual({ ids: model.listenerIds(c) });
  }

  toString(): string {
    return `GET /channels/${describeChannelRef(this.channel)}/listeners`;
  }
}

export class Broadcast extends BaseCommand {
  constructor(
    readonly channel: ChannelRef,
    readonly body: BodySpec,
  ) {
    super();
  }

  protected async execute(model: ChannelsModel, real: RestReal): Promise<void> {
    const c = model.resolveChannel(this.channel);
    const body = this.body.render(real.bodyLimit);
    const answer = await httpCall(real.origin, call('POST', `${channelPath(real, c)}/broadcast`, body), String(this));
    const outcome = channelMissing(model, c) ?? messageOutcome(decodeBody(body, real.bodyLimit));
    if ('status' in outcome) {
      expectAnswer(answer, outcome, String(this));
      return;
    }
    const listeners = model.listenerIds(c).length;
    expect(expectAnswer(answer, { status: 202 }, String(this))).toEqual({ status: 'ack', listeners });
    model.broadcast(c, outcome);
  }

  toString(): string {
    return `POST /channels/${describeChannelRef(this.channel)}/broadcast ${this.body.label}`;
  }
}

export class Dispatch extends BaseCommand {
  constructor(
    readonly channel: ChannelRef,
    readonly listener: ListenerRef,
    readonly body: BodySpec,
  ) {
    super();
  }

  protected async execute(model: ChannelsModel, real: RestReal): Promise<void> {
    const c = model.resolveChannel(this.channel);
    const l = model.resolveListener(c, this.listener);
    const body = this.body.render(real.bodyLimit);
    const answer = await httpCall(
      real.origin,
      call('POST', `${listenerPath(real, c, l)}/messages`, body),
      String(this),
    );
    const outcome = listenerMissing(model, c, l) ?? messageOutcome(decodeBody(body, real.bodyLimit));
    if ('status' in outcome) {
      expectAnswer(answer, outcome, String(this));
      return;
    }
    expect(expectAnswer(answer, { status: 202 }, String(this))).toEqual({ status: 'ack' });
    model.dispatch(c, l, outcome);
  }

  toString(): string {
    return `POST ${describeChannelRef(this.channel)}/${describeListenerRef(this.listener)}/messages ${this.body.label}`;
  }
}

export class RemoveListener extends BaseCommand {
  constructor(
    readonly channel: ChannelRef,
    readonly listener: ListenerRef,
  ) {
    super();
  }

  protected async execute(model: ChannelsModel, real: RestReal): Promise<void> {
    const c = model.resolveChannel(this.channel);
    const l = model.resolveListener(c, this.listener);
    const answer = await httpCall(real.origin, call('DELETE', listenerPath(real, c, l)), String(this));
    const missing = listenerMissing(model, c, l);
    expectAnswer(answer, missing ?? { status: 204 }, String(this));
    if (missing === undefined) model.removeListener(c, l);
  }

  toString(): string {
    return `DELETE ${describeChannelRef(this.channel)}/${describeListenerRef(this.listener)}`;
  }
}

export class RemoveChannel extends BaseCommand {
  constructor(readonly channel: ChannelRef) {
    super();
  }

  protected async execute(model: ChannelsModel, real: RestReal): Promise<void> {
    const c = model.resolveChannel(this.channel);
    const answer = await httpCall(real.origin, call('DELETE', channelPath(real, c)), String(this));
    const missing = channelMissing(model, c);
    expectAnswer(answer, missing ?? { status: 204 }, String(this));
    if (missing === undefined) model.removeChannel(c);
  }

  toString(): string {
    return `DELETE /channels/${describeChannelRef(this.channel)}`;
  }
}

async function expectStreamRefused(stream: SseConnection, expected: Expected, command: string): Promise<void> {
  const text = await stream.errorBody(command);
  expectAnswer({ status: stream.status, headers: stream.response.headers, body: Buffer.from(text) }, expected, command);
}

function expectSseHead(stream: SseConnection, command: string): void {
  const context = `${command} answered ${stream.status} ${stream.response.headers['content-type']}`;
  expect({ context, status: stream.status, type: stream.response.headers['content-type'] }).toEqual({
    context,
    status: 200,
    type: 'text/event-stream',
  });
}

/** GET .../stream: the listener's queue, exactly as the model expects it, in order. */
export class Stream extends BaseCommand {
  constructor(
    readonly channel: ChannelRef,
    readonly listener: ListenerRef,
  ) {
    super();
  }

  protected async execute(model: ChannelsModel, real: RestReal): Promise<void> {
    const c = model.resolveChannel(this.channel);
    const l = model.resolveListener(c, this.listener);
    const stream = await SseConnection.open(real.origin, `${listenerPath(real, c, l)}/stream`, String(this));
    try {
      const missing = listenerMissing(model, c, l);
      if (missing !== undefined) return await expectStreamRefused(stream, missing, String(this));
      expectSseHead(stream, String(this));
      const listener = real.container.get(c).getListener(l);
      const expected = model.drain(c, l);
      for (let i = 0; i < expected.length; i++) {
        expectEvent(await stream.event(i + 1, String(this)), expected[i], String(this));
      }
      await until(() => listener.isRunning(), `${String(this)} to start the listener`);
      stream.close();
      await until(() => !listener.isRunning(), `${String(this)}: the listener to stop once the client left`);
    } finally {
      stream.close();
    }
  }

  toString(): string {
    return `GET ${describeChannelRef(this.channel)}/${describeListenerRef(this.listener)}/stream`;
  }
}

/** GET .../watch: a fresh listener gets a broadcast sent while it watches, and is removed once the client leaves. */
export class Watch extends BaseCommand {
  constructor(
    readonly channel: ChannelRef,
    readonly msg: { type: string; payload?: unknown },
  ) {
    super();
  }

  protected async execute(model: ChannelsModel, real: RestReal): Promise<void> {
    const c = model.resolveChannel(this.channel);
    const stream = await SseConnection.open(real.origin, `${channelPath(real, c)}/watch`, String(this));
    try {
      const missing = channelMissing(model, c);
      if (missing !== undefined) return await expectStreamRefused(stream, missing, String(this));
      expectSseHead(stream, String(this));
      const channel = real.container.get(c);
      const known = new Set(model.listenerIds(c));
      await until(() => channel.getConnections().length > known.size, `${String(this)} to add its listener`);
      const watcher = channel.getConnections().find(({ listener }) => !known.has(listener.id))?.listener.id as string;
      const broadcast = call('POST', `${channelPath(real, c)}/broadcast`, {
        bytes: Buffer.from(JSON.stringify(this.msg)),
        headers: { 'content-type': 'application/json' },
      });
      const answer = await httpCall(real.origin, broadcast, `${String(this)}: broadcast`);
      expect(expectAnswer(answer, { status: 202 }, `${String(this)}: broadcast`)).toEqual({
        status: 'ack',
        listeners: known.size + 1,
      });
      const msg = { type: this.msg.type, payload: this.msg.payload };
      model.broadcast(c, msg);
      expectEvent(await stream.event(1, String(this)), msg, String(this));
      stream.close();
      await until(() => !channel.hasListener(watcher), `${String(this)}: its listener to be removed`);
    } finally {
      stream.close();
    }
  }

  toString(): string {
    return `GET /channels/${describeChannelRef(this.channel)}/watch, then broadcast ${abbreviate(JSON.stringify(this.msg), 40)}`;
  }
}

/** A request the harness does not predict: random methods and malformed paths. */
export interface RawRequest {
  label: string;
  method: string;
  /** The path under the base, rendered with real ids when it names them. */
  path(model: ChannelsModel): string;
}

/**
 * Any answer must be a 2xx or a 4xx with the error JSON (HEAD and OPTIONS aside, which have no JSON);
 * a 4xx changes nothing. A stream that opens is closed again.
 */
export class SendRaw extends BaseCommand {
  constructor(readonly raw: RawRequest) {
    super();
  }

  protected async execute(model: ChannelsModel, real: RestReal): Promise<void> {
    const path = real.base + this.raw.path(model);
    const what = `${String(this)} (${abbreviate(path, 60)})`;
    const answer = await httpCall(real.origin, { method: this.raw.method, path, abortStream: true }, what);
    const context = `${what} answered ${describeAnswer(answer)}`;
    expect({
      context,
      ok: answer.status >= 200 && answer.status < 500 && !(answer.status >= 300 && answer.status < 400),
    }).toEqual({ context, ok: true });
    if (answer.status >= 400 && this.raw.method !== 'HEAD') {
      expectErrorBody(JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>, { status: '4xx' }, context);
    }
    await until(
      () => viewOf(real.container).every((channel) => channel.listeners.every((listener) => !listener.running)),
      `${what}: every stream it opened to end`,
    );
    if (answer.status >= 400)
      expect({ context, state: viewOf(real.container) }).toEqual({ context, state: model.view() });
    else model.resyncFrom(real.container);
  }

  toString(): string {
    return `${this.raw.method} ${this.raw.label}`;
  }
}
