import type { AbstractChannel } from '../../core/channel.js';
import type { MessageQueueListener } from '../../core/listener.js';
import { pythonJsonDumps } from './python-json.js';

/**
 * The lines a `l` or `w` command streams: one Python-style JSON line per event the listener receives,
 * until the listener stops. Ending the iteration early (`return()`, `break`, `close()`) stops the listener
 * at once, which also wakes a stream waiting for messages; a listener the stream owns (`w`) is removed.
 */
export class ListenerLineStream implements AsyncIterable<string> {
  private readonly events: AsyncGenerator<unknown, void, undefined>;
  private closing: Promise<void> | undefined;

  constructor(
    readonly channel: AbstractChannel,
    readonly listener: MessageQueueListener,
    /** When true (`w`), closing the stream removes the listener from the channel. */
    readonly ownsListener: boolean,
  ) {
    this.events = channel.messageStream(listener);
  }

  [Symbol.asyncIterator](): AsyncIterator<string, undefined> {
    return {
      next: async () => {
        const event = await this.events.next();
        if (event.done === true) {
          await this.close();
          return { done: true, value: undefined };
        }
        return { done: false, value: `${pythonJsonDumps(event.value)}\n` };
      },
      return: async () => {
        await this.close();
        await this.events.return(undefined);
        return { done: true, value: undefined };
      },
    };
  }

  /** Stops the listener (removes it when the stream owns it). Safe to call more than once. */
  close(): Promise<void> {
    return (this.closing ??= this.release());
  }

  private async release(): Promise<void> {
    const { channel, listener } = this;
    const stillRegistered = channel.hasListener(listener.id) && channel.getListener(listener.id) === listener;
    if (this.ownsListener && stillRegistered) await channel.removeListener(listener.id);
    else listener.stop();
  }
}
