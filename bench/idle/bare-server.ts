/** Baseline: `node:http` holding each SSE response in a Set, with the SSE headers and nothing else. */
import { createServer, type ServerResponse } from 'node:http';
import { listen, serveIdle } from './serve.js';

await serveIdle(async () => {
  const clients = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    res.flushHeaders();
    clients.add(res);
    res.on('close', () => clients.delete(res));
  });
  await listen(server);
  return {
    server,
    pathTemplate: '/events?client={i}',
    openStreams: () => clients.size,
    prepare: async () => {},
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
});
