import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Message } from '../src/core/message.js';
import type { MessageQueueListener } from '../src/core/listener.js';
import { SSEChannel } from '../src/prefabs/sse-channel.js';
import { BareQueue, type StreamedEvent } from './bare-stream.js';
import type { IdleResult, IdleVariant } from './in-process-idle.js';
import { alternateRounds, median, medianRatio, nextTurn, type Rounds } from './measure.js';
import { formatBytes, formatCount, formatPercent, formatRate, formatRatio, progress, type Section } from './report.js';
import type { BenchSuite } from './suite.js';

const MESSAGES = 1_000_000;
const BATCH = 1_000;
const DISPATCH_ROUNDS: Rounds = { warmup: 1, measured: 7 };
const DISPATCH_TARGET = 0.5;

const LISTENERS = 10_000;
const BROADCASTS = 50;
const BURST = 10;
const BROADCAST_ROUNDS: Rounds = { warmup: 1, measured: 5 };

const IDLE_STREAMS = 10_000;
const IDLE_WINDOW_MS = 2_000;
const IDLE_ROUNDS = 3;

// Patterns that push in a loop await only the last push: a rejected earlier dispatch would surface as an
// unhandled rejection, which ends the run loudly, as a benchmark should.
type Push = (i: number) => Promise<void> | void;

/** How the producer hands messages to the consumer; every pattern is run identically for ours and the baseline. */
interface Pattern {
  label: string;
  produce(push: Push, total: number): Promise<void>;
}

const DISPATCH_PATTERNS: Pattern[] = [
  {
    label: `produce all ${formatCount(MESSAGES)}, then drain`,
    async produce(push, total) {
      let last: Promise<void> | void = undefined;
      for (let i = 0; i < total; i++) last = push(i);
      await last;
    },
  },
  {
    label: `batches of ${formatCount(BATCH)}, drained between batches`,
    async produce(push, total) {
      for (let i = 0; i < total;) {
        let last: Promise<void> | void = undefined;
        for (const end = Math.min(i + BATCH, total); i < end; i++) last = push(i);
        await last;
        await nextTurn();
      }
    },
  },
  {
    label: 'await each dispatch (producer and consumer take turns)',
    async produce(push, total) {
      for (let i = 0; i < total; i++) await push(i);
    },
  },
];

/** Reads `total` events, checking their order, then stops the stream. */
async function consume(stream: AsyncIterable<StreamedEvent>, total: number, stop: () => void): Promise<void> {
  let received = 0;
  for await (const event of stream) {
    if (event.data !== received) throw new Error(`Out of order: expected ${received}, got ${String(event.data)}`);
    if (++received === total) {
      stop();
      break;
    }
  }
  if (received !== total) throw new Error(`Stream ended after ${received} of ${total} messages`);
}

/** Messages per second from the first push to the last message consumed. */
async function timePipe(pattern: Pattern, push: Push, stream: AsyncIterable<StreamedEvent>, stop: () => void) {
  const start = performance.now();
  const consumed = consume(stream, MESSAGES, stop);
  await pattern.produce(push, MESSAGES);
  await consumed;
  return MESSAGES / ((performance.now() - start) / 1000);
}

async function oursDispatch(pattern: Pattern): Promise<number> {
  const channel = new SSEChannel();
  const listener = await channel.addListener();
  listener.start();
  const id = listener.id;
  const rate = await timePipe(
    pattern,
    (i) => channel.dispatch(id, new Message('tick', i)),
    channel.messageStream(listener),
    () => listener.stop(),
  );
  await channel.removeListener(id);
  return rate;
}

async function bareDispatch(pattern: Pattern): Promise<number> {
  const queue = new BareQueue();
  return timePipe(
    pattern,
    (i) => queue.push(new Message('tick', i)),
    queue.stream(),
    () => queue.close(),
  );
}

async function dispatchSection(): Promise<Section> {
  const rows: string[][] = [];
  for (const pattern of DISPATCH_PATTERNS) {
    progress(`dispatch + stream: ${pattern.label}`);
    const samples = await alternateRounds(
      { ours: () => oursDispatch(pattern), bare: () => bareDispatch(pattern) },
      DISPATCH_ROUNDS,
      (label, s) => progress(`  ${label}: ours ${formatRate(s.ours)}, bare ${formatRate(s.bare)}`),
    );
    const ours = median(samples.ours);
    const bare = median(samples.bare);
    rows.push([
      pattern.label,
      formatRate(ours),
      formatRate(bare),
      formatRatio(medianRatio(samples.ours, samples.bare), DISPATCH_TARGET),
    ]);
  }
  return {
    heading: `dispatch + stream ${formatCount(MESSAGES)} messages to one listener (messages/s)`,
    columns: [
      'pattern',
      'ours: SSEChannel dispatch → messageStream',
      'baseline: array → async generator',
      'ours / baseline',
    ],
    rows,
    notes: [
      'Ours: `channel.dispatch(id, new Message(...))`, consumed with `for await` over `channel.messageStream(listener)`;',
      'the baseline pushes the same messages into a plain array drained by an async generator that yields the same',
      'event object. Every message is checked to arrive in order.',
    ],
  };
}

/** Counts deliveries across all streams and wakes the producer when a target is reached. */
class DeliveryCounter {
  private count = 0;
  private target = Infinity;
  private resolve: (() => void) | undefined;

  add(): void {
    if (++this.count === this.target) this.resolve?.();
  }

  reached(target: number): Promise<void> {
    if (this.count >= target) return Promise.resolve();
    return new Promise((resolve) => {
      this.target = target;
      this.resolve = resolve;
    });
  }
}

async function count(stream: AsyncIterable<unknown>, counter: DeliveryCounter): Promise<void> {
  for await (const _event of stream) counter.add();
}

/** Deliveries per second over `BROADCASTS` broadcasts, sent `burst` at a time, each burst awaited until delivered. */
async function timeBroadcasts(burst: number, broadcast: (i: number) => unknown, counter: DeliveryCounter) {
  await nextTurn(); // every stream is parked on its empty queue before the clock starts
  const start = performance.now();
  for (let i = 0; i < BROADCASTS;) {
    for (const end = Math.min(i + burst, BROADCASTS); i < end; i++) broadcast(i);
    await counter.reached(i * LISTENERS);
  }
  return (BROADCASTS * LISTENERS) / ((performance.now() - start) / 1000);
}

async function oursBroadcast(burst: number): Promise<number> {
  const channel = new SSEChannel();
  const listeners: MessageQueueListener[] = [];
  for (let i = 0; i < LISTENERS; i++) {
    const listener = await channel.addListener();
    listener.start();
    listeners.push(listener);
  }
  const counter = new DeliveryCounter();
  const consumers = listeners.map((listener) => count(channel.messageStream(listener), counter));
  const rate = await timeBroadcasts(burst, (i) => channel.broadcast(new Message('tick', i)), counter);
  for (const listener of listeners) await channel.removeListener(listener.id);
  await Promise.all(consumers);
  return rate;
}

async function bareBroadcast(burst: number): Promise<number> {
  const queues = Array.from({ length: LISTENERS }, () => new BareQueue());
  const counter = new DeliveryCounter();
  const consumers = queues.map((queue) => count(queue.stream(), counter));
  const rate = await timeBroadcasts(
    burst,
    (i) => {
      const msg = new Message('tick', i);
      for (const queue of queues) queue.push(msg);
    },
    counter,
  );
  for (const queue of queues) queue.close();
  await Promise.all(consumers);
  return rate;
}

async function broadcastSection(): Promise<Section> {
  const rows: string[][] = [];
  for (const burst of [1, BURST]) {
    const label =
      burst === 1
        ? 'one broadcast at a time, each delivered before the next'
        : `bursts of ${burst} broadcasts, each burst delivered before the next`;
    progress(`broadcast: ${label}`);
    const samples = await alternateRounds(
      { ours: () => oursBroadcast(burst), bare: () => bareBroadcast(burst) },
      BROADCAST_ROUNDS,
      (label, s) => progress(`  ${label}: ours ${formatRate(s.ours)}, bare ${formatRate(s.bare)}`),
    );
    const ours = median(samples.ours);
    const bare = median(samples.bare);
    rows.push([label, formatRate(ours), formatRate(bare), formatRatio(medianRatio(samples.ours, samples.bare))]);
  }
  return {
    heading: `broadcast to ${formatCount(LISTENERS)} listeners, ${BROADCASTS} broadcasts (deliveries/s)`,
    columns: [
      'pattern',
      'ours: SSEChannel broadcast → messageStream',
      'baseline: arrays → async generators',
      'ours / baseline',
    ],
    rows,
    notes: [
      `Each of the ${formatCount(LISTENERS)} listeners has its own \`for await\` consumer; deliveries/s = broadcasts × listeners / time.`,
      'The baseline holds one plain array per consumer, each drained by its own async generator woken by a plain resolve callback.',
    ],
  };
}

function measureIdle(variant: IdleVariant, streams: number): Promise<IdleResult> {
  const entry = fileURLToPath(new URL('./in-process-idle.js', import.meta.url));
  return new Promise((resolve, reject) => {
    let result: IdleResult | undefined;
    const child = fork(entry, [variant, String(streams), String(IDLE_WINDOW_MS)], { stdio: 'inherit' });
    child.on('message', (message) => (result = message as IdleResult));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0 && result !== undefined) resolve(result);
      else reject(new Error(`Idle benchmark child (${variant}) exited with code ${code} and no result`));
    });
  });
}

async function idleSection(): Promise<Section> {
  const variants: [IdleVariant, string, number][] = [
    ['none', 'no streams (the floor: the process and its timer)', 0],
    ['bare', `baseline: ${formatCount(IDLE_STREAMS)} async generators waiting on empty arrays`, IDLE_STREAMS],
    ['ours', `ours: ${formatCount(IDLE_STREAMS)} messageStreams waiting on empty queues`, IDLE_STREAMS],
  ];
  const samples = new Map<IdleVariant, IdleResult[]>(variants.map(([variant]) => [variant, []]));
  for (let round = 0; round < IDLE_ROUNDS; round++) {
    for (const [variant, , streams] of variants) {
      progress(`idle: round ${round + 1}, ${variant}`);
      samples.get(variant)!.push(await measureIdle(variant, streams));
    }
  }
  const rows = variants.map(([variant, label, streams]) => {
    const results = samples.get(variant)!;
    const perStream = (pick: (r: IdleResult) => number) =>
      streams === 0 ? '–' : formatBytes(median(results.map(pick)));
    return [
      label,
      formatPercent(median(results.map((r) => r.cpuFraction))),
      perStream((r) => r.heapBytesPerStream),
      perStream((r) => r.rssBytesPerStream),
    ];
  });
  return {
    heading: `idle cost: ${formatCount(IDLE_STREAMS)} streams waiting for ${IDLE_WINDOW_MS / 1000} s`,
    columns: ['streams', 'process CPU (% of one core)', 'heap per idle stream', 'RSS per idle stream'],
    rows,
    notes: [
      `Each figure is the median of ${IDLE_ROUNDS} fresh child processes. Ours includes the listener, its connection,`,
      'queue and ids; both include the consumer awaiting the stream. CPU counts every thread of the process.',
    ],
  };
}

export const inProcess: BenchSuite = {
  name: 'in-process',
  description: 'Channels, queues and streams inside one process, beside a bare array + async generator.',
  async run() {
    return [await dispatchSection(), await broadcastSection(), await idleSection()];
  },
};
