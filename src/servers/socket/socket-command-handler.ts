import type { AbstractChannel } from '../../core/channel.js';
import { InvalidMessageFormat } from '../../core/errors.js';
import { assertIdempotencyKey, type PublishOptions } from '../../core/idempotency.js';
import { Message, type Payload } from '../../core/message.js';
import { assertPayloadDepth } from '../../core/payload-depth.js';
import { SSEChannel } from '../../prefabs/sse-channel.js';
import type { ChannelContainer } from '../channel-container.js';
import { ListenerLineStream } from './listener-line-stream.js';
import { pythonJsonDumps } from './python-json.js';
import { isSocketVerb, parseSocketCommand, type SocketCommand, type SocketVerb } from './socket-command.js';

/** What a command gets back: one answer text, or lines to stream until the iterable ends. */
export type SocketAnswer = string | AsyncIterable<string>;

/**
 * Handles a command whose `v` is not an eric verb (missing, unknown, or a command with a `pattern` key).
 * Return undefined to decline: the command is then answered `InvalidMessageFormat`. A value that is
 * neither a string nor an async iterable is answered as its Python-style JSON.
 */
export type SocketFallback = (command: SocketCommand) => unknown;

export interface SocketCommandHandlerOptions {
  /** Makes the channel that verb `c` creates. Default: `new SSEChannel()`, as the original does. */
  createChannel?: () => AbstractChannel;
  fallback?: SocketFallback;
}

export const ACK = 'ack';

/**
 * The eric socket protocol over a `ChannelContainer`, independent of any transport: give it a parsed
 * command, get the answer. Failures are thrown (as the named library errors) for the transport to answer.
 */
export class SocketCommandHandler {
  private readonly createChannel: () => AbstractChannel;
  private readonly fallback: SocketFallback | undefined;

  constructor(
    readonly container: ChannelContainer,
    options: SocketCommandHandlerOptions = {},
  ) {
    this.createChannel = options.createChannel ?? (() => new SSEChannel());
    this.fallback = options.fallback;
  }

  /** Parses raw command bytes, then handles the command. */
  handleRaw(raw: Uint8Array | string): Promise<SocketAnswer> {
    try {
      return this.handle(parseSocketCommand(raw));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async handle(command: SocketCommand): Promise<SocketAnswer> {
    const verb = command.v;
    if (!isSocketVerb(verb)) return this.handleOther(command);
    switch (verb) {
      case 'c': {
        const channel = this.createChannel();
        await this.container.add(channel);
        return channel.id;
      }
      case 'r':
        return (await (await this.channelOf(command, verb)).addListener()).id;
      case 'd': {
        const message = messageOf(command, verb);
        const receiverId = required(command, 'r', verb);
        const options = publishOptionsOf(command);
        await (await this.channelOf(command, verb)).dispatch(receiverId, message, options);
        return ACK;
      }
      case 'b': {
        const message = messageOf(command, verb);
        const options = publishOptionsOf(command);
        await (await this.channelOf(command, verb)).broadcast(message, options);
        return ACK;
      }
      case 'rl': {
        const listenerId = required(command, 'r', verb);
        await (await this.channelOf(command, verb)).removeListener(listenerId);
        return ACK;
      }
      case 'rc':
        // On a shared backend (Redis) this also ends the channel's streams in every instance.
        await this.container.remove(required(command, 'c', verb));
        return ACK;
      case 'l': {
        const listenerId = required(command, 'r', verb);
        const channel = await this.channelOf(command, verb);
        const { listener } = await channel.resolveConnection(listenerId);
        listener.start();
        return new ListenerLineStream(channel, listener, false);
      }
      case 'w': {
        const channel = await this.channelOf(command, verb);
        const listener = await channel.addListener();
        listener.start();
        return new ListenerLineStream(channel, listener, true);
      }
    }
  }

  /** The channel held here, or loaded from the container's store (a channel another instance made). */
  private channelOf(command: SocketCommand, verb: SocketVerb): Promise<AbstractChannel> {
    return this.container.resolve(required(command, 'c', verb));
  }

  private async handleOther(command: SocketCommand): Promise<SocketAnswer> {
    const answer = this.fallback === undefined ? undefined : await this.fallback(command);
    if (answer === undefined) {
      if (!('v' in command)) throw new InvalidMessageFormat("Missing verb 'v'");
      throw new InvalidMessageFormat(`Unknown verb ${pythonJsonDumps(command.v)}`);
    }
    if (typeof answer === 'string' || isAsyncIterable(answer)) return answer;
    return pythonJsonDumps(answer);
  }
}

const KEY_NAMES: Record<string, string> = { c: 'channel id', r: 'receiver (listener id)', t: 'message type' };

function required(command: SocketCommand, key: 'c' | 'r' | 't', verb: SocketVerb): string {
  const value = command[key];
  if (value === undefined || value === null) {
    throw new InvalidMessageFormat(`Missing '${key}' (${KEY_NAMES[key]}) for verb '${verb}'`);
  }
  if (typeof value !== 'string') {
    throw new InvalidMessageFormat(`'${key}' (${KEY_NAMES[key]}) must be a string, got ${pythonJsonDumps(value)}`);
  }
  return value;
}

function messageOf(command: SocketCommand, verb: SocketVerb): Message {
  const type = required(command, 't', verb);
  assertPayloadDepth(command.p);
  return new Message(type, command.p as Payload);
}

/**
 * The idempotency key of a `d` or `b` command: `k`, an addition to the original protocol (its clients
 * never send it). Absent or null: none. A repeat within the channel's window is answered `ack` again
 * and queues nothing.
 */
function publishOptionsOf(command: SocketCommand): PublishOptions | undefined {
  const key = command.k;
  if (key === undefined || key === null) return undefined;
  if (typeof key !== 'string') {
    const kind = Array.isArray(key) ? 'an array' : typeof key === 'object' ? 'an object' : `a ${typeof key}`;
    throw new InvalidMessageFormat(`'k' (idempotency key) must be a string, got ${kind}`);
  }
  return { idempotencyKey: assertIdempotencyKey(key) };
}

function isAsyncIterable(value: unknown): value is AsyncIterable<string> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
