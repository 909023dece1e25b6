/**
 * The idle suite's client process: raw TCP SSE clients (a GET, then reading), as many as asked, held
 * open until told to close. Counts the bytes they receive after the headers, from a mark on.
 */
import { connect, type Socket } from 'node:net';
import type { LoadCommand, LoadReport } from './protocol.js';

const IN_FLIGHT = 256;
const sockets = new Set<Socket>();
let bytes = 0;
let firstOpenAt = 0;

function report(message: LoadReport): void {
  if (process.connected) process.send?.(message, undefined, undefined, () => {});
}

/** Opens one client; resolves once its response head says 200. */
function open(port: number, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let head = '';
    let opened = false;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (opened) {
        bytes += chunk.length;
        return;
      }
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      if (!head.startsWith('HTTP/1.1 200')) {
        reject(new Error(`GET ${path}: ${head.slice(0, head.indexOf('\r\n'))}`));
        socket.destroy();
        return;
      }
      opened = true;
      firstOpenAt ||= Date.now();
      bytes += head.length - end - 4;
      sockets.add(socket);
      resolve();
    });
    socket.on('error', (error) => (opened ? undefined : reject(error)));
    socket.on('close', () => sockets.delete(socket));
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`);
  });
}

async function connectRange(port: number, template: string, from: number, to: number): Promise<void> {
  let next = from;
  const worker = async (): Promise<void> => {
    while (next < to) await open(port, template.replace('{i}', String(next++)));
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, to - from) }, worker));
}

process.on('disconnect', () => process.exit(0));
process.on('message', (command: LoadCommand) => {
  void (async () => {
    switch (command.kind) {
      case 'connect':
        await connectRange(command.port, command.pathTemplate, command.from, command.to);
        return report({ kind: 'connected', open: sockets.size, firstOpenAt });
      case 'mark':
        bytes = 0;
        return report({ kind: 'marked' });
      case 'bytes':
        return report({ kind: 'bytes', bytes });
      case 'close-all': {
        const closed = [...sockets].map((socket) => new Promise((resolve) => socket.once('close', resolve)));
        for (const socket of sockets) socket.destroy();
        await Promise.all(closed);
        firstOpenAt = 0;
        return report({ kind: 'closed' });
      }
      case 'shutdown':
        process.exit(0);
    }
  })().catch((error: unknown) => report({ kind: 'error', message: String(error) }));
});
report({ kind: 'ready' });
