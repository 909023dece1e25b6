import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';

/**
 * Records what clients send to a redis-server, through `MONITOR`. Commands run by scripts are reported
 * with the source `lua` and left out: `commands()` is what crossed the network, one entry per round trip
 * of a non-pipelined client.
 */
export class CommandMonitor {
  private readonly seen: { args: string[]; source: string }[] = [];
  private waiting: { marker: string; resolve: () => void } | undefined;

  private constructor(
    private readonly monitor: Redis,
    private readonly probe: Redis,
  ) {
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (this.waiting !== undefined && args[0]?.toLowerCase() === 'echo' && args[1] === this.waiting.marker) {
        const { resolve } = this.waiting;
        this.waiting = undefined;
        resolve();
        return;
      }
      this.seen.push({ args, source });
    });
  }

  static async start(url: string): Promise<CommandMonitor> {
    const probe = new Redis(url);
    const monitor = await probe.monitor();
    return new CommandMonitor(monitor, probe);
  }

  /** Waits until every command the server ran before this call has been reported. */
  async settle(): Promise<void> {
    const marker = randomUUID();
    const seen = new Promise<void>((resolve) => (this.waiting = { marker, resolve }));
    await this.probe.echo(marker);
    await seen;
  }

  reset(): void {
    this.seen.length = 0;
  }

  /** Command names (lower case) sent by clients since the last reset, scripts' own calls left out. */
  commands(): string[] {
    return this.seen.filter(({ source }) => source !== 'lua').map(({ args }) => args[0].toLowerCase());
  }

  /** Command names run inside scripts since the last reset. */
  scriptCalls(): string[] {
    return this.seen.filter(({ source }) => source === 'lua').map(({ args }) => args[0].toLowerCase());
  }

  async stop(): Promise<void> {
    this.monitor.disconnect();
    await this.probe.quit();
  }
}
