/** Baseline: `node:http` and a Set of responses; each broadcast is encoded once and written to each. */
import { createServer, type ServerResponse } from 'node:http';
import { listenOnFreePort } from '../listen.js';
import { STREAM_PATH } from '../protocol.js';
import { runFanoutServer } from '../server-harness.js';

await runFanoutServer(async (subscribers) => {
  const clients = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    if (req.url !== STREAM_PATH) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
    });
    res.flushHeaders();
    clients.add(res);
    subscribers.add();
    res.on('close', () => {
      if (clients.delete(res)) subscribers.remove();
    });
  });
  const port = await listenOnFreePort(server);
  return {
    port,
    broadcast(payload) {
      const frame = `event: message\ndata: ${JSON.stringify(payload)}\n\n`;
      for (const res of clients) res.write(frame);
    },
  };
});
