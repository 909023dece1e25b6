/**
 * Child process of the socket suite: our `SocketServer` over an `SSEChannel` with `LISTENERS` listeners,
 * and a bare `node:net` server that reads each command to its end and answers `ack`, side by side.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SSEChannel } from '../../src/prefabs/sse-channel.js';
import { ChannelContainer } from '../../src/servers/channel-container.js';
import { SocketServer } from '../../src/servers/socket/socket-server.js';
import { LISTENERS, type ServersCommand, type ServersReport } from './protocol.js';

const report = (message: ServersReport): boolean => (process.send as (m: ServersReport) => boolean)(message);

const dir = await mkdtemp(join(tmpdir(), 'eric-bench-socket-'));
const channel = new SSEChannel();
const container = new ChannelContainer();
container.register(channel);
await addListeners();
const ours = await SocketServer.start(join(dir, 'ours.sock'), { container });

const bare = createServer({ allowHalfOpen: true }, (socket: Socket) => {
  socket.on('data', () => undefined);
  socket.on('end', () => socket.end('ack'));
  socket.on('error', () => undefined);
});
await new Promise<void>((resolve) => bare.listen(join(dir, 'bare.sock'), resolve));

process.on('message', (command: ServersCommand) => {
  void handle(command).catch((error: unknown) => report({ kind: 'error', message: String(error) }));
});
report({ kind: 'ready', paths: { ours: ours.path, bare: join(dir, 'bare.sock') }, channelId: channel.id });

async function handle(command: ServersCommand): Promise<void> {
  if (command.kind === 'cpu') {
    const { user, system } = process.cpuUsage();
    report({ kind: 'cpu', micros: user + system });
    return;
  }
  if (command.kind === 'reset') {
    // Nobody streams these listeners: fresh ones keep the queues from growing round after round.
    for (const { listener } of channel.getConnections()) await channel.removeListener(listener.id);
    await addListeners();
    report({ kind: 'reset' });
    return;
  }
  await ours.shutdown();
  await new Promise<void>((resolve) => bare.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
  process.disconnect();
}

async function addListeners(): Promise<void> {
  for (let i = 0; i < LISTENERS; i++) await channel.addListener();
}
