/**
 * Ours, the fast path without Nest: a plain `node:http` server handing each request to
 * `EricSseStreams.pipeWatch` (a fresh listener per connection). Same library code as `ours-pipe`, minus
 * Express and Nest's routing, to tell the library's cost from the framework's.
 */
import { createServer } from 'node:http';
import { Message } from '../../../src/core/message.js';
import { EricSseStreams } from '../../../src/nest/streaming/eric-sse-streams.js';
import { SSEChannel } from '../../../src/prefabs/sse-channel.js';
import { ChannelContainer } from '../../../src/servers/channel-container.js';
import { listenOnFreePort } from '../listen.js';
import { STREAM_PATH } from '../protocol.js';
import { runFanoutServer } from '../server-harness.js';
import { FANOUT_CHANNEL_ID } from './ours-app.js';

await runFanoutServer(async (subscribers) => {
  const channel = new SSEChannel({ channelId: FANOUT_CHANNEL_ID });
  const container = new ChannelContainer();
  container.register(channel);
  const streams = new EricSseStreams(container);
  const server = createServer((req, res) => {
    if (req.url !== STREAM_PATH) {
      res.writeHead(404).end();
      return;
    }
    streams.pipeWatch(req, res, FANOUT_CHANNEL_ID).then(
      () => {
        subscribers.add();
        res.on('close', () => subscribers.remove());
      },
      () => res.destroy(),
    );
  });
  const port = await listenOnFreePort(server);
  return {
    port,
    broadcast(payload) {
      return channel.broadcast(new Message('message', { ...payload }));
    },
  };
});
