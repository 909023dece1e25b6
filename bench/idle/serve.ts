/** What both idle-suite servers share: the IPC loop, memory and CPU samples, and a big listen backlog. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { ServerCommand, ServerReport } from './protocol.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let gcMicros = 0;
let majorGcs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gcMicros += entry.duration * 1000;
    if ((entry as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)
      majorGcs++;
  }
}).observe({ entryTypes: ['gc'] });

export interface IdleServer {
  server: Server;
  /** The path a client `i` streams, `{i}` standing for its number. */
  pathTemplate: string;
  openStreams(): number;
  prepare(count: number): Promise<void>;
  close(): Promise<void>;
}

function report(message: ServerReport): void {
  if (process.connected) process.send?.(message, undefined, undefined, () => {});
}

/** Listens on a free loopback port with room for thousands of connects at once. */
export function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', 4096, () => resolve((server.address() as AddressInfo).port));
  });
}

export async function serveIdle(start: () => Promise<IdleServer>): Promise<void> {
  process.on('disconnect', () => process.exit(0));
  let idle: IdleServer;
  try {
    idle = await start();
  } catch (error) {
    report({ kind: 'error', message: `server failed to start: ${String((error as Error)?.stack ?? error)}` });
    process.exit(1);
  }
  process.on('message', (command: ServerCommand) => {
    void (async () => {
      switch (command.kind) {
        case 'prepare':
          await idle.prepare(command.count);
          return report({ kind: 'prepared' });
        case 'sample': {
          if (command.gc) {
            gc();
            gc();
          }
          const { rss, heapUsed } = process.memoryUsage();
          const { user, system } = process.cpuUsage();
          return report({
            kind: 'sample',
            rssBytes: rss,
            heapUsedBytes: heapUsed,
            openStreams: idle.openStreams(),
            cpuMicros: user + system,
            gcMicros,
            majorGcs,
          });
        }
        case 'shutdown':
          await idle.close();
          process.exit(0);
      }
    })().catch((error: unknown) => report({ kind: 'error', message: String(error) }));
  });
  report({ kind: 'ready', port: (idle.server.address() as AddressInfo).port, pathTemplate: idle.pathTemplate });
}
