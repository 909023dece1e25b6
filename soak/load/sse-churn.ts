import { between, pick, type Counters } from './counters.js';
import { rest } from './http.js';
import { SseClient, SseRefused } from './sse-client.js';
import type { StopSignal } from './stop-signal.js';

export interface SseChurnOptions {
  port: number;
  /** The REST base path, e.g. `/eric-sse`. */
  base: string;
  channels: readonly string[];
  /** How many SSE clients are connected at any time. */
  concurrent: number;
  /** How long a client stays connected, in ms. */
  lifetimeMs: [number, number];
}

/**
 * SSE clients coming and going: `concurrent` workers, each one client after another. A client either
 * watches a channel, or subscribes a listener, streams it, sometimes reconnects to it, then deletes it.
 * `subscribed` lists the listeners alive right now, for the dispatches.
 */
export class SseChurn {
  readonly subscribed = new Map<string, string>();
  private readonly clients = new Set<SseClient>();
  private workers: Promise<void>[] = [];

  constructor(
    private readonly options: SseChurnOptions,
    private readonly counters: Counters,
    private readonly stop: StopSignal,
  ) {}

  get open(): number {
    return this.clients.size;
  }

  start(): void {
    this.workers = Array.from({ length: this.options.concurrent }, async (_, i) => {
      // Spread the first connections over a second rather than opening them all at once.
      await this.stop.sleep((i * 1000) / this.options.concurrent);
      while (!this.stop.stopped) {
        try {
          await (Math.random() < 0.4 ? this.watchSession() : this.listenerSession());
        } catch (error) {
          this.counters.fail(`sse session: ${String(error)}`);
          await this.stop.sleep(200);
        }
      }
    });
  }

  /** Resolves once every worker has closed its client and deleted its listener. */
  async finish(): Promise<void> {
    for (const client of this.clients) void client.close();
    await Promise.all(this.workers);
  }

  private async watchSession(): Promise<void> {
    const channel = pick(this.options.channels) as string;
    await this.stream(`${this.options.base}/channels/${channel}/watch`, this.lifetime());
  }

  private async listenerSession(): Promise<void> {
    const { port, base } = this.options;
    const channel = pick(this.options.channels) as string;
    this.counters.restCalls++;
    const created = await rest(port, 'POST', `${base}/channels/${channel}/listeners`);
    if (created.status !== 201)
      return this.counters.fail(`subscribe: ${created.status} ${JSON.stringify(created.body)}`);
    const listenerId = (created.body as { id: string }).id;
    this.subscribed.set(listenerId, channel);
    try {
      const path = `${base}/channels/${channel}/listeners/${listenerId}/stream`;
      await this.stream(path, this.lifetime());
      // A reconnect: what was dispatched while it was away arrives first.
      if (Math.random() < 0.3 && !this.stop.stopped) await this.stream(path, this.lifetime() / 2);
    } finally {
      this.subscribed.delete(listenerId);
      this.counters.restCalls++;
      const removed = await rest(port, 'DELETE', `${base}/channels/${channel}/listeners/${listenerId}`);
      if (removed.status !== 204) this.counters.fail(`delete listener: ${removed.status}`);
    }
  }

  private async stream(path: string, lifetimeMs: number): Promise<void> {
    let client: SseClient;
    try {
      client = await SseClient.open(this.options.port, path);
    } catch (error) {
      if (error instanceof SseRefused && error.status === 404) {
        this.counters.races++;
        return;
      }
      throw error;
    }
    this.counters.streamsOpened++;
    this.clients.add(client);
    try {
      await Promise.race([this.stop.sleep(lifetimeMs), client.ended]);
      await client.close();
    } finally {
      this.clients.delete(client);
      this.counters.received += client.events;
    }
  }

  private lifetime(): number {
    return between(...this.options.lifetimeMs);
  }
}
