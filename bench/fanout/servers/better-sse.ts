/** better-sse as its documentation shows it: a session per request, registered on one `Channel`. */
import { createServer } from 'node:http';
import { createChannel, createSession } from 'better-sse';
import { listenOnFreePort } from '../listen.js';
import { STREAM_PATH } from '../protocol.js';
import { runFanoutServer } from '../server-harness.js';

await runFanoutServer(async (subscribers) => {
  const channel = createChannel();
  channel.on('session-registered', () => subscribers.add());
  channel.on('session-deregistered', () => subscribers.remove());
  const server = createServer((req, res) => {
    if (req.url !== STREAM_PATH) {
      res.writeHead(404).end();
      return;
    }
    createSession(req, res).then(
      (session) => channel.register(session),
      () => res.destroy(),
    );
  });
  const port = await listenOnFreePort(server);
  return {
    port,
    broadcast(payload) {
      channel.broadcast(payload, 'message');
    },
  };
});
