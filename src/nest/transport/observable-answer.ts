import type { Observable, Subscription } from 'rxjs';
import { pythonJsonDumps } from '../../servers/socket/python-json.js';
import type { SocketAnswer } from '../../servers/socket/socket-command-handler.js';
import { rpcAnswerError } from './rpc-answer-error.js';

type Notification = { kind: 'value'; value: unknown } | { kind: 'error'; error: unknown } | { kind: 'done' };

/**
 * The socket answer of a `@MessagePattern` handler's response stream, each value as its JSON:
 * - one value (a plain result or a Promise): that JSON, the whole answer;
 * - no value: an empty answer;
 * - several values: one JSON line per value, flowing as they come from the second value on;
 * - an error: its error answer (after the lines already sent, if any).
 * The client leaving mid-stream unsubscribes from the handler's Observable.
 */
export async function observableAnswer(source: Observable<unknown>): Promise<SocketAnswer> {
  const notifications = new NotificationQueue(source);
  const first = await notifications.next();
  if (first.kind === 'error') throw rpcAnswerError(first.error);
  if (first.kind === 'done') return '';
  const second = await notifications.next();
  if (second.kind === 'done') return pythonJsonDumps(first.value);
  return new ValueLines(notifications, [first, second]);
}

/** An Observable's notifications, buffered until read; `cancel()` unsubscribes and ends the reading. */
class NotificationQueue {
  private readonly pending: Notification[] = [];
  private readonly subscription: Subscription;
  private wake: (() => void) | undefined;

  constructor(source: Observable<unknown>) {
    this.subscription = source.subscribe({
      next: (value) => this.push({ kind: 'value', value }),
      error: (error: unknown) => this.push({ kind: 'error', error }),
      complete: () => this.push({ kind: 'done' }),
    });
  }

  async next(): Promise<Notification> {
    while (this.pending.length === 0) await new Promise<void>((resolve) => (this.wake = resolve));
    return this.pending.shift() as Notification;
  }

  cancel(): void {
    this.subscription.unsubscribe();
    this.pending.length = 0;
    this.push({ kind: 'done' });
  }

  private push(notification: Notification): void {
    this.pending.push(notification);
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** A hand-written iterator rather than a generator, so `return()` works even while a read is waiting. */
class ValueLines implements AsyncIterable<string> {
  constructor(
    private readonly notifications: NotificationQueue,
    private readonly first: Notification[],
  ) {}

  [Symbol.asyncIterator](): AsyncIterator<string, undefined> {
    let ended = false;
    return {
      next: async () => {
        const notification = this.first.shift() ?? (ended ? { kind: 'done' } : await this.notifications.next());
        if (notification.kind === 'value') return { done: false, value: `${pythonJsonDumps(notification.value)}\n` };
        ended = true;
        this.notifications.cancel();
        if (notification.kind === 'error') throw rpcAnswerError(notification.error);
        return { done: true, value: undefined };
      },
      return: () => {
        ended = true;
        this.notifications.cancel();
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }
}
