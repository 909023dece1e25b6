import type { AddressInfo } from 'node:net';
import { createSampleApp } from './create-app.js';
import { connectSocketTransport, sampleSocketPath } from './socket-transport.js';

const port = Number(process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  throw new Error(`PORT must be a port number, got ${JSON.stringify(process.env.PORT)}`);
}

const app = await createSampleApp();
// Ctrl-C / SIGTERM close the app: every SSE stream ends cleanly and the listeners stop.
app.enableShutdownHooks();
const socketPath = sampleSocketPath();
await connectSocketTransport(app, socketPath);
await app.listen(port);
const { port: listening } = app.getHttpServer().address() as AddressInfo;
console.log(`eric-sse sample: open http://localhost:${listening}/`);
console.log(
  `eric-sse sample: eric socket at ${socketPath}; push from the shell with node .build/src/cli/main.js --help`,
);
