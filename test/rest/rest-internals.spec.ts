import { describe, expect, it, jest } from '@jest/globals';
import { BadRequestException, HttpException, type ArgumentsHost, type Type } from '@nestjs/common';
import { IncomingMessage, type ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { ChannelContainer, InvalidConfigurationException, RepositoryError, SSEChannel } from '../../src/index.js';
import { RestOperations } from '../../src/nest/rest/rest-operations.js';
import { decodeJsonBody } from '../../src/nest/rest/decode-json-body.js';
import { installRestBodyGate } from '../../src/nest/rest/rest-body-gate.js';
import { RestExceptionFilter, restErrorBody } from '../../src/nest/rest/rest-exception.filter.js';
import { readRequestBody, requestBodyOf } from '../../src/nest/rest/rest-request-body.js';

function incoming(headers: Record<string, string>): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  req.headers = headers;
  return req;
}

describe('readRequestBody', () => {
  it('gives none for a request without Content-Length or Transfer-Encoding', async () => {
    expect(await readRequestBody(incoming({}), 10)).toEqual({ kind: 'none' });
  });

  it('gives the bytes of a complete body', async () => {
    const req = incoming({ 'content-length': '5' });
    const body = readRequestBody(req, 10);
    req.push('he');
    req.push('llo');
    req.push(null);
    expect(await body).toEqual({ kind: 'complete', bytes: Buffer.from('hello') });
  });

  it('reads to the end of a body over the limit, dropping it', async () => {
    const req = incoming({ 'transfer-encoding': 'chunked' });
    const body = readRequestBody(req, 4);
    req.push('abc');
    req.push('def');
    req.push('ghi');
    req.push(null);
    expect(await body).toEqual({ kind: 'too-large', limit: 4 });
    expect(req.readableEnded).toBe(true);
  });

  it('trusts a declared Content-Length over the limit', async () => {
    const req = incoming({ 'content-length': '50' });
    const body = readRequestBody(req, 4);
    req.push('ab');
    req.push(null);
    expect(await body).toEqual({ kind: 'too-large', limit: 4 });
  });

  it('gives incomplete when the client goes away mid-body, or when the body was read already', async () => {
    const aborted = incoming({ 'content-length': '50' });
    const body = readRequestBody(aborted, 100);
    aborted.push('{"type":');
    aborted.destroy();
    expect(await body).toEqual({ kind: 'incomplete' });

    const consumed = incoming({ 'content-length': '2' });
    consumed.push('{}');
    consumed.push(null);
    consumed.resume();
    await new Promise((resolve) => consumed.once('end', resolve));
    expect(await readRequestBody(consumed, 100)).toEqual({ kind: 'incomplete' });
  });

  it('is read once per request, however often it is asked for', async () => {
    const req = incoming({ 'content-length': '2' });
    const first = requestBodyOf(req, 10);
    expect(requestBodyOf(req, 10)).toBe(first);
    req.push('{}');
    req.push(null);
    expect(await first).toEqual({ kind: 'complete', bytes: Buffer.from('{}') });
  });
});

describe('decodeJsonBody', () => {
  it('gives undefined without a body', () => {
    expect(decodeJsonBody({ kind: 'none' })).toBeUndefined();
    expect(decodeJsonBody({ kind: 'complete', bytes: Buffer.alloc(0) })).toBeUndefined();
  });

  it('strips a UTF-8 byte order mark', () => {
    expect(decodeJsonBody({ kind: 'complete', bytes: Buffer.from('\uFEFF{"a":1}') })).toEqual({ a: 1 });
  });

  it('answers 400 for a body not received completely', () => {
    expect(() => decodeJsonBody({ kind: 'incomplete' })).toThrow(
      new BadRequestException('The request body was not received completely'),
    );
  });
});

describe('restErrorBody', () => {
  it('maps any HttpException to its status, reason phrase and message', () => {
    expect(restErrorBody(new HttpException('short and stout', 418))).toEqual({
      statusCode: 418,
      error: "I'm a Teapot",
      message: 'short and stout',
    });
    expect(restErrorBody(new BadRequestException(['one', 'two']))).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'one; two',
    });
  });

  it('hides anything else behind a 500', () => {
    expect(restErrorBody(new Error('secret'))).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'Internal server error',
    });
  });
});

describe('RestExceptionFilter', () => {
  it('only ends a response whose stream had started', () => {
    const res = { headersSent: true, statusCode: 200, end: jest.fn(), setHeader: jest.fn() };
    const host = { switchToHttp: () => ({ getResponse: () => res as unknown as ServerResponse }) };
    new RestExceptionFilter().catch(new BadRequestException('late'), host as unknown as ArgumentsHost);
    expect(res.end).toHaveBeenCalledWith();
    expect(res.statusCode).toBe(200);
    expect(res.setHeader).not.toHaveBeenCalled();
  });
});

describe('installRestBodyGate', () => {
  class SomeController {}
  const controller = SomeController as Type;

  it('does nothing without an HTTP server', () => {
    expect(() => installRestBodyGate(undefined, controller, 10)).not.toThrow();
  });

  it('refuses an adapter other than Express', () => {
    const adapter = { getType: () => 'fastify', getInstance: () => ({}) };
    expect(() => installRestBodyGate(adapter, controller, 10)).toThrow(
      new InvalidConfigurationException(
        'rest needs the Express HTTP adapter (@nestjs/platform-express); this application uses fastify',
      ),
    );
  });

  it('fails loudly when the routes cannot be found', () => {
    const adapter = { getType: () => 'express', getInstance: () => ({ router: { stack: [] } }) };
    expect(() => installRestBodyGate(adapter, controller, 10)).toThrow(
      new InvalidConfigurationException(
        'rest: the routes of SomeController are not in the Express router, so rest.bodyLimit cannot be enforced',
      ),
    );
  });
});

describe('RestOperations.bounded', () => {
  const container = new ChannelContainer();
  const never = (): Promise<never> => new Promise<never>(() => undefined);

  it('answers an operation that outlives the deadline with a RepositoryError of unknown outcome', async () => {
    const operations = new RestOperations(container, () => new SSEChannel(), 30);
    const started = Date.now();
    const answer = operations.bounded('broadcast on channel news', never);
    await expect(answer).rejects.toBeInstanceOf(RepositoryError);
    await expect(answer).rejects.toThrow(
      'The backend did not answer within 30 ms, could not broadcast on channel news; the outcome is unknown',
    );
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('passes through what settles in time, and sets no deadline without one (in memory)', async () => {
    const bounded = new RestOperations(container, () => new SSEChannel(), 1000);
    await expect(bounded.bounded('x', () => Promise.resolve(7))).resolves.toBe(7);
    await expect(bounded.bounded('x', () => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    const unbounded = new RestOperations(container, () => new SSEChannel());
    expect(unbounded.bounded('x', () => Promise.resolve(8))).toBeInstanceOf(Promise);
    await expect(unbounded.bounded('x', () => Promise.resolve(8))).resolves.toBe(8);
  });
});
