import { SocketClient } from '../../src/servers/socket/socket-client.js';
import { pick, Ticker, type Counters } from './counters.js';

export interface SocketChurnOptions {
  socketPath: string;
  channels: readonly string[];
  /** Full socket sessions (c, r, b, l, rl, rc) per second. */
  sessionsPerSecond: number;
  /** Socket watches (w, reading a few broadcasts) per second. */
  watchesPerSecond: number;
}

/** Socket clients: whole command sessions on their own channels, and watches of the stable channels. */
export function startSocketChurn(options: SocketChurnOptions, counters: Counters): Ticker[] {
  const client = new SocketClient(options.socketPath);
  const fail = (error: unknown): void => counters.fail(`socket: ${String(error)}`);

  const session = async (): Promise<void> => {
    const channelId = await client.createChannel();
    const listenerId = await client.register(channelId);
    await client.broadcastMessage(channelId, 'socket', { at: Date.now() });
    counters.sent++;
    counters.queued++;
    for await (const line of client.stream(channelId, listenerId)) {
      if (!line.includes('"socket"')) counters.fail(`socket stream line: ${line.slice(0, 100)}`);
      counters.received++;
      break;
    }
    await client.removeListener(channelId, listenerId);
    await client.removeChannel(channelId);
    counters.socketCommands += 6;
  };

  const watch = async (): Promise<void> => {
    counters.socketCommands++;
    let lines = 0;
    for await (const _line of client.watch(pick(options.channels) as string)) {
      counters.received++;
      if (++lines === 3) break;
    }
  };

  return [
    new Ticker(1000 / options.sessionsPerSecond, session, fail),
    new Ticker(1000 / options.watchesPerSecond, watch, fail, 4),
  ];
}
