import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { EricSseException, InvalidConfigurationException } from '../core/errors.js';
import type { MessageQueueListener } from '../core/listener.js';
import { Message, type MessageContract, type Payload } from '../core/message.js';
import { assertInteger, assertNonEmptyString, assertNonNegativeNumber } from '../core/validate.js';
import type { MessageExecutor } from './message-executor.js';

export interface WorkerPoolExecutorOptions {
  /**
   * The task module, loaded by each worker thread: a `URL` or `file:` URL string, an absolute path, or a
   * path relative to the current working directory. It must be plain JavaScript (workers cannot load .ts).
   */
  filename: string | URL;
  /** The export that handles a task. Default: the module's default export. */
  exportName?: string;
  /** Threads kept alive while idle. Default: piscina's (half the available cores, at least 1). */
  minThreads?: number;
  /** Most threads at once. Default: piscina's (1.5 × the available cores). */
  maxThreads?: number;
  /** How long an idle thread above `minThreads` lives, in milliseconds. Default: piscina's (0). */
  idleTimeout?: number;
}

/** What a worker's task function receives; it returns (or resolves to) the result payload. */
export interface WorkerTask {
  type: string;
  payload: Payload;
}

/**
 * Runs each message on a worker-thread pool (piscina), for CPU-bound processing. The task function gets
 * `{ type, payload }` and its result becomes the payload of the streamed message, which keeps the message's
 * type. `listener.onMessage` is NOT called: the work lives in the task module, not in the listener.
 */
export class WorkerPoolExecutor implements MessageExecutor {
  /** Absolute path of the task module. */
  readonly filename: string;
  readonly exportName: string;
  private readonly pool: Piscina<WorkerTask, Payload>;
  private closing: Promise<void> | undefined;

  constructor(options: WorkerPoolExecutorOptions) {
    this.filename = toModulePath(options?.filename);
    this.exportName = assertNonEmptyString(options.exportName ?? 'default', 'exportName');
    const { minThreads, maxThreads, idleTimeout } = options;
    if (minThreads !== undefined) assertInteger(minThreads, 'minThreads', 0);
    if (maxThreads !== undefined) assertInteger(maxThreads, 'maxThreads', 1);
    if (minThreads !== undefined && maxThreads !== undefined && minThreads > maxThreads) {
      throw new InvalidConfigurationException(`minThreads (${minThreads}) must not exceed maxThreads (${maxThreads})`);
    }
    if (idleTimeout !== undefined) assertNonNegativeNumber(idleTimeout, 'idleTimeout');
    this.pool = new Piscina<WorkerTask, Payload>({
      filename: this.filename,
      name: this.exportName,
      ...(minThreads !== undefined && { minThreads }),
      ...(maxThreads !== undefined && { maxThreads }),
      ...(idleTimeout !== undefined && { idleTimeout }),
    });
  }

  /** Threads alive now: 0 once closed. */
  get threadCount(): number {
    return this.pool.threads.length;
  }

  async run(_listener: MessageQueueListener, msg: MessageContract): Promise<MessageContract> {
    // A destroyed piscina pool would quietly spawn new threads for a late task: refuse it instead.
    if (this.closing !== undefined) throw new EricSseException('WorkerPoolExecutor is closed');
    const result = await this.pool.run({ type: msg.type, payload: msg.payload });
    return new Message(msg.type, result);
  }

  /** Terminates the threads; tasks still running reject. Idempotent. */
  close(): Promise<void> {
    return (this.closing ??= this.pool.destroy());
  }
}

function toModulePath(filename: unknown): string {
  let path: string;
  if (filename instanceof URL || (typeof filename === 'string' && filename.startsWith('file:'))) {
    try {
      path = fileURLToPath(filename);
    } catch {
      throw new InvalidConfigurationException(`filename must be a file: URL or a path, got ${String(filename)}`);
    }
  } else {
    path = resolve(assertNonEmptyString(filename, 'filename'));
  }
  if (!existsSync(path)) throw new InvalidConfigurationException(`filename ${path} does not exist`);
  return path;
}
