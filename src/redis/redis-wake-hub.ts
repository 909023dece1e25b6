import type { Redis } from 'ioredis';
import { getEricLogger } from '../core/logger.js';
import type { RedisKeys } from './redis-keys.js';

/** What the hub wakes: a queue some local stream may be waiting on. */
export interface WakeTarget {
  readonly channelId: string;
  readonly listenerId: string;
  /** A message may have arrived (or may have been missed): re-check. */
  notify(): void;
}

/** Length of the tag naming the process a wake message comes from. */
export const ORIGIN_LENGTH = 8;

/** The wake message of a broadcast made by process `origin`. */
export function broadcastWake(origin: string): string {
  return `b:${origin}`;
}

/** The wake message of a message queued for one listener by process `origin`. */
export function listenerWake(origin: string, listenerId: string): string {
  return `d:${origin}:${listenerId}`;
}

/** A removal every process acts on, published on the control channel. */
export type ControlMessage = { rc: string } | { rl: [channelId: string, listenerId: string] };

const IDLE = 0;
const SUBSCRIBING = 1;
const ACTIVE = 2;

interface ChannelWatch {
  readonly channelId: string;
  readonly name: string;
  state: number;
  /** Listener id → the local queues of that listener. */
  readonly targets: Map<string, Set<WakeTarget>>;
}

/**
 * The process's one pub/sub connection, and the local side of waking: which local queues belong to
 * which Redis channel and listener. Wake messages name the process that queued the message: a process
 * notifies its own queues when its script returns, and ignores its own wake messages.
 *
 * A channel's wake subscription (`<p>wake:<c>`) is taken when a local queue of it first registers and
 * kept until the channel is dropped or the hub closes. A queue registered before its subscription is
 * acknowledged is notified once it is, and so is every queue after the connection comes back: a message
 * pushed while this process could not hear about it is picked up then.
 */
export class RedisWakeHub {
  private readonly watches = new Map<string, ChannelWatch>();
  private readonly byName = new Map<string, ChannelWatch>();
  private readonly controlHandlers = new Set<(message: ControlMessage) => void>();
  private readonly resumeHandlers = new Set<() => void>();
  /** Bumped whenever the connection closes: an acknowledgement from before that is stale. */
  private generation = 0;
  private started = false;
  private closed = false;

  constructor(
    private readonly subscriber: Redis,
    private readonly keys: RedisKeys,
    /** This process's tag: its own wake messages are not acted on, as it notifies its queues itself. */
    readonly origin: string,
  ) {
    subscriber.on('message', (channel: string, message: string) => this.onMessage(channel, message));
    subscriber.on('close', () => this.onClose());
    subscriber.on('ready', () => {
      if (this.started) void this.resubscribe();
    });
  }

  /** Subscribes the control channel; resolves once Redis acknowledged it. The connection must be ready. */
  async start(): Promise<void> {
    await this.subscriber.subscribe(this.keys.control);
    this.started = true;
    for (const watch of this.watches.values()) if (watch.state === IDLE) this.subscribe(watch);
  }

  /** Registers a local queue; its channel's wake subscription is taken if it is not yet. */
  register(target: WakeTarget): void {
    const watch = this.watchOf(target.channelId);
    let targets = watch.targets.get(target.listenerId);
    if (targets === undefined) watch.targets.set(target.listenerId, (targets = new Set()));
    targets.add(target);
    if (watch.state === IDLE) this.subscribe(watch);
  }

  unregister(target: WakeTarget): void {
    const targets = this.watches.get(target.channelId)?.targets.get(target.listenerId);
    if (targets === undefined) return;
    targets.delete(target);
    if (targets.size === 0) this.watches.get(target.channelId)?.targets.delete(target.listenerId);
  }

  /** True once Redis acknowledged the channel's wake subscription (and the connection has not dropped since). */
  isListening(channelId: string): boolean {
    return this.watches.get(channelId)?.state === ACTIVE;
  }

  /** The local queues of a channel, or of one of its listeners. */
  *targetsOf(channelId: string, listenerId?: string): Iterable<WakeTarget> {
    const watch = this.watches.get(channelId);
    if (watch === undefined) return;
    if (listenerId !== undefined) {
      const targets = watch.targets.get(listenerId);
      if (targets !== undefined) yield* targets;
      return;
    }
    for (const targets of watch.targets.values()) yield* targets;
  }

  /**
   * What this process does instead of acting on its own wake messages: once its script has queued a message,
   * it notifies the local queues concerned (of the listener, or of the whole channel).
   */
  notifyLocal(channelId: string, listenerId?: string): void {
    for (const target of this.targetsOf(channelId, listenerId)) target.notify();
  }

  /** Notifies every registered queue (the command connection is back: a failed pop or check may have missed messages). */
  wakeAll(): void {
    for (const watch of this.watches.values()) notifyAll(watch);
  }

  /** Forgets a removed channel: unsubscribes and drops its queues. */
  dropChannel(channelId: string): void {
    const watch = this.watches.get(channelId);
    if (watch === undefined) return;
    this.watches.delete(channelId);
    this.byName.delete(watch.name);
    if (watch.state !== IDLE && this.subscriber.status === 'ready') {
      this.subscriber.unsubscribe(watch.name).catch(() => undefined);
    }
  }

  /** Calls back for every control message. Returns a function that cancels it. */
  onControl(handler: (message: ControlMessage) => void): () => void {
    this.controlHandlers.add(handler);
    return () => this.controlHandlers.delete(handler);
  }

  /** Calls back each time the connection is back after a loss (control messages may have been missed). */
  onResume(handler: () => void): () => void {
    this.resumeHandlers.add(handler);
    return () => this.resumeHandlers.delete(handler);
  }

  close(): void {
    this.closed = true;
    this.watches.clear();
    this.byName.clear();
    this.controlHandlers.clear();
    this.resumeHandlers.clear();
  }

  private watchOf(channelId: string): ChannelWatch {
    let watch = this.watches.get(channelId);
    if (watch === undefined) {
      watch = { channelId, name: this.keys.wake(channelId), state: IDLE, targets: new Map() };
      this.watches.set(channelId, watch);
      this.byName.set(watch.name, watch);
    }
    return watch;
  }

  private subscribe(watch: ChannelWatch): void {
    if (!this.started || this.closed || this.subscriber.status !== 'ready') return; // resubscribe() takes it
    watch.state = SUBSCRIBING;
    const generation = this.generation;
    this.subscriber.subscribe(watch.name).then(
      () => {
        if (generation !== this.generation || this.watches.get(watch.channelId) !== watch) return;
        watch.state = ACTIVE;
        notifyAll(watch);
      },
      () => {
        // The connection dropped meanwhile: resubscribe() takes it when it is back.
        if (generation === this.generation && watch.state === SUBSCRIBING) watch.state = IDLE;
      },
    );
  }

  private onClose(): void {
    this.generation++;
    for (const watch of this.watches.values()) watch.state = IDLE;
  }

  private async resubscribe(): Promise<void> {
    if (this.closed) return;
    const generation = this.generation;
    try {
      await this.subscriber.subscribe(this.keys.control);
    } catch {
      return; // lost again: the next 'ready' retries
    }
    if (generation !== this.generation) return;
    for (const watch of this.watches.values()) if (watch.state === IDLE) this.subscribe(watch);
    for (const handler of this.resumeHandlers) {
      try {
        handler();
      } catch (error) {
        getEricLogger().error('A Redis resume handler failed', error);
      }
    }
  }

  private onMessage(channel: string, message: string): void {
    if (channel === this.keys.control) return this.onControlMessage(message);
    const watch = this.byName.get(channel);
    if (watch === undefined) return;
    // 'b:<origin>' or 'd:<origin>:<listener id>'.
    if (message.slice(2, 2 + ORIGIN_LENGTH) === this.origin) return;
    if (message.startsWith('b:')) return notifyAll(watch);
    if (message.startsWith('d:')) {
      const targets = watch.targets.get(message.slice(3 + ORIGIN_LENGTH));
      if (targets !== undefined) for (const target of targets) target.notify();
    }
  }

  private onControlMessage(text: string): void {
    let message: ControlMessage;
    try {
      message = JSON.parse(text) as ControlMessage;
    } catch {
      getEricLogger().error(`Ignored a malformed eric-sse control message: ${text.slice(0, 200)}`);
      return;
    }
    if ('rc' in message) this.dropChannel(message.rc);
    for (const handler of this.controlHandlers) {
      try {
        handler(message);
      } catch (error) {
        getEricLogger().error('An eric-sse control handler failed', error);
      }
    }
  }
}

function notifyAll(watch: ChannelWatch): void {
  for (const targets of watch.targets.values()) for (const target of targets) target.notify();
}
