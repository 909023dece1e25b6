import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Room for every client's connect at once, so no SYN is dropped and retried a second later. */
const BACKLOG = 2048;

/** Listens on a free loopback port and returns it. */
export function listenOnFreePort(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', BACKLOG, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
