import { Injectable, Logger } from '@nestjs/common';
import type { AbstractChannel } from '../../core/channel.js';
import { InvalidListenerException } from '../../core/errors.js';
import type { SimpleDistributedApplicationListener } from '../../prefabs/simple-distributed-application.js';

interface RunningListener {
  listener: SimpleDistributedApplicationListener;
  channel: AbstractChannel;
  /** Whether a background loop is consuming the listener's stream. */
  consuming: boolean;
  /** The latest such loop; settled once `consuming` is false. */
  loop: Promise<void>;
}

/**
 * The `@OnMessage` listeners of the application, each with the background loop that consumes its
 * stream (consuming is what runs its actions).
 */
@Injectable()
export class OnMessageListeners {
  private readonly logger = new Logger('EricSse');
  private readonly entries = new Map<string, RunningListener>();
  private closed = false;

  /** Registers the listener on the channel, starts it and consumes its stream in the background. */
  async register(listener: SimpleDistributedApplicationListener, channel: AbstractChannel): Promise<void> {
    await channel.registerListener(listener);
    // Also for channels that are not a SimpleDistributedApplicationChannel (a configured SSEChannel).
    listener.setChannel(channel);
    this.entries.set(listener.id, { listener, channel, consuming: false, loop: Promise.resolve() });
    this.start(listener.id);
  }

  has(listenerId: string): boolean {
    return this.entries.has(listenerId);
  }

  ids(): string[] {
    return [...this.entries.keys()];
  }

  get(listenerId: string): SimpleDistributedApplicationListener {
    return this.entry(listenerId).listener;
  }

  channelOf(listenerId: string): AbstractChannel {
    return this.entry(listenerId).channel;
  }

  /** (Re)starts a listener, e.g. after a `stop` message, and resumes consuming its stream. */
  start(listenerId: string): void {
    const entry = this.entry(listenerId);
    if (this.closed) {
      throw new InvalidListenerException(`Listener ${listenerId} cannot start: the application is shutting down`);
    }
    entry.listener.start();
    if (entry.consuming) return;
    entry.consuming = true;
    entry.loop = this.consume(entry);
  }

  /** Stops every listener and waits for their loops to end (an action in progress finishes first). */
  async stopAll(): Promise<void> {
    this.closed = true;
    for (const { listener } of this.entries.values()) listener.stop();
    await Promise.all([...this.entries.values()].map((entry) => entry.loop));
  }

  private async consume(entry: RunningListener): Promise<void> {
    const { listener, channel } = entry;
    // Checked and cleared with no await in between, so `start` never relies on a loop that is about to end.
    while (!this.closed && listener.isRunning() && channel.hasListener(listener.id)) {
      try {
        for await (const _event of channel.messageStream(listener)) {
          // Delivering the message ran the action; the event itself is not needed.
        }
      } catch (error) {
        this.logger.error(
          `Listener ${listener.id} (channel ${channel.id}) failed to handle a message: ${describe(error)}`,
          error instanceof Error ? error.stack : undefined,
        );
      }
    }
    entry.consuming = false;
  }

  private entry(listenerId: string): RunningListener {
    const entry = this.entries.get(listenerId);
    if (entry === undefined) throw new InvalidListenerException(`No @OnMessage listener with id ${listenerId}`);
    return entry;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
