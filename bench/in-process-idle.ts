/**
 * Child process of the in-process suite's idle benchmark: parks N streams on empty queues, then reports
 * the CPU time the process used over a quiet window and the memory each parked stream holds. A fresh
 * process per measurement keeps the parent's leftover garbage collection out of both figures.
 */
import type { MessageQueueListener } from '../src/core/listener.js';
import { SSEChannel } from '../src/prefabs/sse-channel.js';
import { BareQueue } from './bare-stream.js';
import { collectGarbage, nextTurn, sleep } from './measure.js';

export type IdleVariant = 'none' | 'bare' | 'ours';

export interface IdleResult {
  /** CPU time (user + system, all threads) over the window, as a fraction of one core. */
  cpuFraction: number;
  heapBytesPerStream: number;
  rssBytesPerStream: number;
}

/** Time for the startup's compilation and GC threads to go quiet before the window opens. */
const SETTLE_MS = 300;

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _event of stream);
}

/** Parks `count` streams and returns a function that ends them all. */
async function park(variant: IdleVariant, count: number): Promise<() => Promise<void>> {
  if (variant === 'none') return async () => {};
  if (variant === 'bare') {
    const queues = Array.from({ length: count }, () => new BareQueue());
    const consumers = queues.map((queue) => drain(queue.stream()));
    return async () => {
      for (const queue of queues) queue.close();
      await Promise.all(consumers);
    };
  }
  const channel = new SSEChannel();
  const listeners: MessageQueueListener[] = [];
  for (let i = 0; i < count; i++) {
    const listener = await channel.addListener();
    listener.start();
    listeners.push(listener);
  }
  const consumers = listeners.map((listener) => drain(channel.messageStream(listener)));
  return async () => {
    for (const listener of listeners) await channel.removeListener(listener.id);
    await Promise.all(consumers);
  };
}

async function main(): Promise<void> {
  const variant = process.argv[2] as IdleVariant;
  const count = Number(process.argv[3]);
  const windowMs = Number(process.argv[4]);

  collectGarbage();
  const before = process.memoryUsage();
  const stopAll = await park(variant, count);
  await nextTurn();
  collectGarbage();
  const parked = process.memoryUsage();
  await sleep(SETTLE_MS);

  const cpuStart = process.cpuUsage();
  const windowStart = performance.now();
  await sleep(windowMs);
  const cpu = process.cpuUsage(cpuStart);
  const windowSeconds = (performance.now() - windowStart) / 1000;

  await stopAll();
  const perStream = count === 0 ? 0 : 1 / count;
  const result: IdleResult = {
    cpuFraction: (cpu.user + cpu.system) / 1e6 / windowSeconds,
    heapBytesPerStream: (parked.heapUsed - before.heapUsed) * perStream,
    rssBytesPerStream: (parked.rss - before.rss) * perStream,
  };
  process.send?.(result);
}

await main();
