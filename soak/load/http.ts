import { Agent, request } from 'node:http';

export interface RestAnswer {
  status: number;
  body: unknown;
}

const TIMEOUT_MS = 10_000;

/** Keep-alive connections for the REST calls, as a service calling the API would hold them. */
export const restAgent = new Agent({ keepAlive: true, maxSockets: 16 });

/** One REST call; rejects on a network error or when no whole answer came within 10 s. */
export function rest(port: number, method: string, path: string, body?: unknown): Promise<RestAnswer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request(
      {
        agent: restAgent,
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': payload.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: text === '' ? undefined : (JSON.parse(text) as unknown) });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error(`${method} ${path}: no answer within ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}
