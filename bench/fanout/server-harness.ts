/**
 * The part every fan-out server process shares, so that the trigger and the bookkeeping cost the same for
 * each: the driver sends `broadcast` over IPC, the harness stamps the payload and hands it to the server's
 * `broadcast`, and acknowledges once the broadcast and every microtask it queued have run (`setImmediate`).
 * The driver sends the next broadcast only after that acknowledgement: "as fast as the server accepts".
 */
import { makePayload, type FanoutPayload, type ServerCommand, type ServerReport } from './protocol.js';

/** One server variant under test, already listening. */
export interface FanoutServer {
  port: number;
  /** Sends one event carrying `payload` to every subscribed client. */
  broadcast(payload: FanoutPayload): void | Promise<void>;
}

/**
 * Counts subscribed clients. Server variants call `add`/`remove` at the point where a client starts and
 * stops receiving broadcasts, so the driver can wait for every client without sleeping.
 */
export class SubscriberCount {
  private count = 0;
  private waiter: { count: number; resolve: () => void } | undefined;

  get value(): number {
    return this.count;
  }

  add(): void {
    this.count++;
    if (this.waiter !== undefined && this.count >= this.waiter.count) {
      const { resolve } = this.waiter;
      this.waiter = undefined;
      resolve();
    }
  }

  remove(): void {
    this.count--;
  }

  reached(count: number): Promise<void> {
    if (this.count >= count) return Promise.resolve();
    return new Promise((resolve) => (this.waiter = { count, resolve }));
  }
}

function report(message: ServerReport): void {
  // The callback takes the error of a send after the driver is gone; the disconnect handler exits.
  if (process.connected) process.send?.(message, undefined, undefined, () => {});
}

/** Starts the server made by `start` and serves the driver's commands until it says `shutdown`. */
export async function runFanoutServer(start: (subscribers: SubscriberCount) => Promise<FanoutServer>): Promise<void> {
  // Without the driver there is nobody to stop this process.
  process.on('disconnect', () => process.exit(0));
  const subscribers = new SubscriberCount();
  let server: FanoutServer;
  try {
    server = await start(subscribers);
  } catch (error) {
    report({ kind: 'error', message: `server failed to start: ${String((error as Error)?.stack ?? error)}` });
    process.exit(1);
  }

  process.on('message', (command: ServerCommand) => {
    switch (command.kind) {
      case 'broadcast': {
        const payload = makePayload(command.seq);
        const done = (): void => {
          setImmediate(() => report({ kind: 'broadcasted', seq: command.seq, sentAt: payload.sentAt }));
        };
        const result = server.broadcast(payload);
        if (result === undefined) done();
        else
          result.then(done, (error: unknown) =>
            report({ kind: 'error', message: `broadcast failed: ${String(error)}` }),
          );
        break;
      }
      case 'await-subscribers':
        void subscribers.reached(command.count).then(() => report({ kind: 'subscribers', count: subscribers.value }));
        break;
      case 'cpu-usage': {
        const { user, system } = process.cpuUsage();
        report({ kind: 'cpu-usage', micros: user + system });
        break;
      }
      case 'shutdown':
        process.exit(0);
    }
  });
  report({ kind: 'listening', port: server.port });
}
