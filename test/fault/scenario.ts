/**
 * What the fault scenarios share: setting up a channel and listeners over REST, the listeners' clients,
 * the drop schedule, the publishing loop, waiting for quiescence, and the lines each run prints.
 */
import { FaultEventSource, type ConnectDrop } from './event-source.js';
import { DeliveryLedger, FAULT_EVENT, seqRange } from './ledger.js';
import { httpCall, type Publisher } from './publisher.js';
import { delay } from './processes.js';
import { envMilliseconds, type SeededRandom } from './seeded-random.js';

/** Writes a line of the suite's output (straight to stdout: no console.log location noise). */
export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** POST {base}/channels → its id. */
export async function createChannel(baseUrl: string, body: Record<string, unknown> = {}): Promise<string> {
  const answer = await httpCall('POST', `${baseUrl}/channels`, { body });
  if (answer.status !== 201)
    throw new Error(`creating a channel answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return (answer.body as { id: string }).id;
}

/** POST {base}/channels/:c/listeners → its id. */
export async function addListener(baseUrl: string, channelId: string): Promise<string> {
  const answer = await httpCall('POST', `${baseUrl}/channels/${channelId}/listeners`);
  if (answer.status !== 201)
    throw new Error(`adding a listener answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return (answer.body as { id: string }).id;
}

/** GET {base}/path → its `ids`. */
export async function listIds(baseUrl: string, path: string): Promise<string[]> {
  const answer = await httpCall('GET', `${baseUrl}${path}`);
  if (answer.status !== 200) throw new Error(`GET ${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return (answer.body as { ids: string[] }).ids;
}

export interface StreamingClient {
  listenerId: string;
  label: string;
  source: FaultEventSource;
}

export interface ClientOptions {
  channelId: string;
  listenerIds: readonly string[];
  /** The instances' REST base URLs; client i streams from instance i % n, and sometimes from another one. */
  baseUrls: readonly string[];
  /** Chance that a reconnection goes to another instance. Default 0.25. */
  switchChance?: number;
  answerBoundMs: number;
}

/** One EventSource-like client per listener, fed into `ledger` (not started). */
export function makeClients(ledger: DeliveryLedger, random: SeededRandom, options: ClientOptions): StreamingClient[] {
  const { baseUrls, channelId } = options;
  const switchChance = options.switchChance ?? 0.25;
  return options.listenerIds.map((listenerId, i) => {
    const label = `L${i}`;
    const path = `/channels/${channelId}/listeners/${listenerId}/stream`;
    const choose = random.fork();
    let instance = i % baseUrls.length;
    const source = new FaultEventSource({
      url: (attempt) => {
        if (attempt > 0 && baseUrls.length > 1 && choose.chance(switchChance)) {
          instance = (instance + 1 + choose.int(0, baseUrls.length - 2)) % baseUrls.length;
        }
        return baseUrls[instance] + path;
      },
      onEvent: (event) => ledger.receive(listenerId, event),
      answerBoundMs: options.answerBoundMs,
    });
    ledger.addListener(listenerId, channelId, label, source);
    return { listenerId, label, source };
  });
}

const CONNECT_DROPS: readonly ConnectDrop[] = ['on-connect', 'after-head'];

/**
 * Drops each client at random moments (every `minMs`-`maxMs`): half the time the connection as it is,
 * half the time also the next connection early (as soon as it connects, or right after its response
 * head arrived: see `ConnectDrop`).
 */
export class DropSchedule {
  private readonly timers = new Set<NodeJS.Timeout>();
  private running = false;
  drops = 0;
  firstConnectDrops = 0;

  constructor(
    private readonly clients: readonly StreamingClient[],
    private readonly random: SeededRandom,
    private readonly minMs: number,
    private readonly maxMs: number,
  ) {}

  start(): void {
    this.running = true;
    for (const client of this.clients) this.next(client, this.random.fork());
  }

  stop(): void {
    this.running = false;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private next(client: StreamingClient, random: SeededRandom): void {
    if (!this.running) return;
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        if (!this.running) return;
        if (random.chance(0.5)) {
          client.source.dropNextConnect(random.pick(CONNECT_DROPS));
          this.firstConnectDrops++;
        }
        client.source.drop();
        this.drops++;
        this.next(client, random);
      },
      random.int(this.minMs, this.maxMs),
    );
    this.timers.add(timer);
  }
}

/**
 * Starts each client within `staggerMs` (seeded), the first connection of a share `firstDropChance` of
 * them armed to be dropped before anything of it is seen: messages are already flowing, so the server
 * has something to send on it, and the client has no event id yet (its reconnection sends none).
 * Resolves once every client has started.
 */
export async function startClients(
  clients: readonly StreamingClient[],
  random: SeededRandom,
  staggerMs: number,
  firstDropChance: number,
): Promise<number> {
  let armed = 0;
  await Promise.all(
    clients.map(async (client) => {
      const drop = random.chance(firstDropChance) ? random.pick(CONNECT_DROPS) : undefined;
      await delay(random.int(0, staggerMs));
      if (drop !== undefined) {
        client.source.dropNextConnect(drop);
        armed++;
      }
      client.source.start();
    }),
  );
  return armed;
}

export interface Target {
  channelId: string;
  listenerId: string;
}

export interface PublishLoopOptions {
  channelId: string;
  /** Pause between messages. */
  spacingMs: number;
  /** Share of messages dispatched (to one of `dispatchTargets`) rather than broadcast. */
  dispatchShare: number;
  dispatchTargets: readonly Target[];
  /** Stop after this many broadcasts (dispatches not counted). Default: until `stop()`. */
  maxBroadcasts?: number;
}

/** Sends one message at a time (so that their order is defined), each retried until acknowledged. */
export class PublishLoop {
  readonly done: Promise<void>;
  private running = true;

  constructor(
    private readonly publisher: Publisher,
    private readonly ledger: DeliveryLedger,
    private readonly random: SeededRandom,
    private readonly options: PublishLoopOptions,
  ) {
    this.done = this.run();
  }

  /** Stops after the message in flight (which is still retried until acknowledged or given up). */
  stop(): Promise<void> {
    this.running = false;
    return this.done;
  }

  private async run(): Promise<void> {
    const { spacingMs, dispatchShare, dispatchTargets, channelId, maxBroadcasts } = this.options;
    let broadcasts = 0;
    while (this.running && (maxBroadcasts === undefined || broadcasts < maxBroadcasts)) {
      const dispatch = dispatchTargets.length > 0 && this.random.chance(dispatchShare);
      if (!dispatch) broadcasts++;
      await publishOne(this.publisher, this.ledger, dispatch ? this.random.pick(dispatchTargets) : channelId);
      if (spacingMs > 0) await delay(spacingMs);
    }
  }
}

/** One message, broadcast on a channel (a string) or dispatched to a listener; acknowledged in `ledger` on 2xx. */
export async function publishOne(publisher: Publisher, ledger: DeliveryLedger, to: string | Target): Promise<boolean> {
  const broadcast = typeof to === 'string';
  const seq = ledger.newMessage(broadcast ? { channelId: to } : to);
  const payload = { seq, kind: broadcast ? 'b' : 'd' };
  const outcome = broadcast
    ? await publisher.broadcast(to, FAULT_EVENT, payload)
    : await publisher.dispatch(to.channelId, to.listenerId, FAULT_EVENT, payload);
  if (outcome.acked) ledger.ack(seq);
  return outcome.acked;
}

/** Waits until no event has arrived for `quietMs` (late duplicates show up meanwhile), at most `maxMs`. */
export async function settle(ledger: DeliveryLedger, quietMs: number, maxMs = 10_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  let seen = ledger.receptions;
  for (;;) {
    await delay(quietMs);
    if (ledger.receptions === seen || Date.now() > deadline) return;
    seen = ledger.receptions;
  }
}

export interface RunSummary {
  acknowledged: number;
  delivered: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  misrouted: number;
  unanswered: number;
}

/**
 * Prints the run's line (`fault suite (<name>, seed S): acknowledged A, delivered D, lost L, duplicated X,
 * unanswered U`), then details and the diagnosis of losses; returns the counts.
 */
export function printRun(
  name: string,
  seed: number,
  ledger: DeliveryLedger,
  publisher: Publisher,
  clients: readonly StreamingClient[],
  extra: string[] = [],
): RunSummary {
  const counts = ledger.counts();
  const slowOpens = clients.reduce((sum, client) => sum + client.source.slowAnswers, 0);
  const unanswered = publisher.unanswered + slowOpens;
  say(
    `fault suite (${name}, seed ${seed}): acknowledged ${counts.acknowledged}, delivered ${counts.delivered}, ` +
      `lost ${counts.lost}, duplicated ${counts.duplicated}, unanswered ${unanswered}`,
  );
  const connections = clients.reduce((sum, client) => sum + client.source.connections.length, 0);
  const statuses = [...publisher.statuses].map(([status, count]) => `${status}×${count}`).join(' ');
  const sum = (pick: (source: FaultEventSource) => number): number =>
    clients.reduce((total, client) => total + pick(client.source), 0);
  say(
    `  details: expected ${counts.expected} (listener, message) pairs; out of order ${counts.outOfOrder}; ` +
      `misrouted ${counts.misrouted}; unacknowledged but delivered ${counts.unacknowledgedDelivered}; ` +
      `history-gap events ${counts.historyGaps}; other events ${counts.otherEvents}`,
  );
  say(
    `  publisher: ${publisher.messages} messages, ${publisher.attempts} attempts (${publisher.retries} retries), ` +
      `unanswered ${publisher.unanswered}, connection errors ${publisher.connectionErrors}, rejected ${publisher.rejected}, ` +
      `given up ${publisher.givenUp}, idempotent replays ${publisher.replayed}, slowest answer ${publisher.slowestAnswerMs} ms, statuses ${statuses}`,
  );
  say(
    `  clients: ${clients.length} listeners, ${connections} connections, ${sum((s) => s.drops)} dropped, ` +
      `${sum((s) => s.serverEnded)} ended by the server, ${sum((s) => s.networkErrors)} network errors, ` +
      `${sum((s) => s.notEventStream)} answers a browser gives up on (not a 200 event stream), ${slowOpens} opens unanswered within the bound`,
  );
  for (const line of extra) say(`  ${line}`);
  if (counts.duplicated > 0) {
    say(`  duplicates by kind:`);
    for (const [kind, count] of ledger.duplicateKinds) say(`    ${count} × ${kind}`);
    say(`  first duplicates:`);
    for (const example of ledger.duplicateExamples) say(`    ${example}`);
  }
  if (ledger.outOfOrderExamples.length > 0) {
    say(`  first out-of-order receptions:`);
    for (const example of ledger.outOfOrderExamples) say(`    ${example}`);
  }
  if (counts.lost > 0) {
    const { categories, runs } = ledger.diagnose();
    say(`  losses by cause (from the event ids the clients saw):`);
    for (const [category, count] of [...categories].sort((a, b) => b[1] - a[1])) say(`    ${count} × ${category}`);
    say(`  first loss runs (${runs.length} in all):`);
    for (const run of runs.slice(0, 12)) say(`    ${run.listener} seq ${seqRange(run.seqs)}: ${run.detail}`);
  }
  return {
    acknowledged: counts.acknowledged,
    delivered: counts.delivered,
    lost: counts.lost,
    duplicated: counts.duplicated,
    outOfOrder: counts.outOfOrder,
    misrouted: counts.misrouted,
    unanswered,
  };
}

/** The bound every call must be answered within (a publish attempt; a stream's response head). */
export const CALL_BOUND_MS = envMilliseconds('FAULT_CALL_BOUND_MS', 5000);

/** The counts a run must have: nothing lost, duplicated, out of order, misrouted or unanswered. */
export function failures(summary: RunSummary): Record<string, number> {
  const { lost, duplicated, outOfOrder, misrouted, unanswered } = summary;
  return { lost, duplicated, outOfOrder, misrouted, unanswered };
}

export const NO_FAILURES = { lost: 0, duplicated: 0, outOfOrder: 0, misrouted: 0, unanswered: 0 };
