/**
 * Child process of the socket suite: `CONCURRENCY` clients, each sending one command per connection
 * (write, half-close, read the answer to its end) back to back for the duration asked.
 */
import { createConnection } from 'node:net';
import { CONCURRENCY, type LoadCommand, type LoadReport } from './protocol.js';

const report = (message: LoadReport): boolean => (process.send as (m: LoadReport) => boolean)(message);

process.on('message', (command: LoadCommand) => {
  if (command.kind === 'stop') {
    process.disconnect();
    return;
  }
  run(command.path, command.command, command.durationMs).then(
    (result) => report({ kind: 'result', ...result }),
    (error: unknown) => report({ kind: 'error', message: String(error) }),
  );
});
report({ kind: 'ready' });

async function run(
  path: string,
  command: string,
  durationMs: number,
): Promise<{ commands: number; seconds: number; unexpected: number; sample: string }> {
  const bytes = Buffer.from(command);
  const started = performance.now();
  const deadline = started + durationMs;
  let commands = 0;
  let unexpected = 0;
  let sample = '';
  const client = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const answer = await exchange(path, bytes);
      commands++;
      if (answer !== 'ack') {
        unexpected++;
        sample ||= answer;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, client));
  return { commands, seconds: (performance.now() - started) / 1000, unexpected, sample };
}

function exchange(path: string, bytes: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.once('end', () => {
      socket.destroy();
      resolve(answer);
    });
    socket.once('error', reject);
    socket.end(bytes);
  });
}
