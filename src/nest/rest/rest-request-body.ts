import type { IncomingMessage } from 'node:http';

/** What reading a request body gave, before any decoding. */
export type RawRequestBody =
  | { kind: 'none' }
  | { kind: 'complete'; bytes: Buffer }
  /** More than `limit` bytes: the excess was read and dropped, never buffered. */
  | { kind: 'too-large'; limit: number }
  | { kind: 'encoded'; encoding: string }
  /** The client went away, or something else read the body first. */
  | { kind: 'incomplete' };

const NONE: RawRequestBody = { kind: 'none' };
const INCOMPLETE: RawRequestBody = { kind: 'incomplete' };

/**
 * Reads the whole body, keeping at most `limit` bytes. Resolves once the request has been read to
 * the end (so body parsers after us see it finished and skip it), and never rejects.
 */
export function readRequestBody(req: IncomingMessage, limit: number): Promise<RawRequestBody> {
  const { headers } = req;
  if (headers['transfer-encoding'] === undefined && headers['content-length'] === undefined) {
    return Promise.resolve(NONE);
  }
  if (req.readableEnded || req.destroyed) return Promise.resolve(INCOMPLETE);
  const encoding = headers['content-encoding']?.toLowerCase();
  const encoded = encoding !== undefined && encoding !== 'identity';
  let tooLarge = Number(headers['content-length']) > limit;
  const chunks: Buffer[] = [];
  let size = 0;
  return new Promise((resolve) => {
    const onData = (chunk: Buffer): void => {
      if (tooLarge || encoded) return;
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
      } else {
        chunks.push(chunk);
      }
    };
    const settle = (body: RawRequestBody): void => {
      req.off('data', onData).off('end', onEnd).off('error', onAbort).off('close', onAbort);
      resolve(body);
    };
    const onEnd = (): void => {
      if (encoded) settle({ kind: 'encoded', encoding });
      else if (tooLarge) settle({ kind: 'too-large', limit });
      else settle({ kind: 'complete', bytes: Buffer.concat(chunks, size) });
    };
    const onAbort = (): void => settle(INCOMPLETE);
    req.on('data', onData).once('end', onEnd).once('error', onAbort).once('close', onAbort);
    req.resume();
  });
}

const bodies = new WeakMap<IncomingMessage, Promise<RawRequestBody>>();

/** The body of `req`, read once however often it is asked for (by the gate, then by the handler). */
export function requestBodyOf(req: IncomingMessage, limit: number): Promise<RawRequestBody> {
  let body = bodies.get(req);
  if (body === undefined) {
    body = readRequestBody(req, limit);
    bodies.set(req, body);
  }
  return body;
}
