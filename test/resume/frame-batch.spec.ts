import { describe, expect, it } from '@jest/globals';
import { FrameBatch } from '../../src/sse/frame-batch.js';

const body = (text: string) => Buffer.from(text, 'utf8');

describe('FrameBatch', () => {
  it('writes each event as its id line and body, one buffer per batch', () => {
    const batch = new FrameBatch(false);
    expect(batch.take()).toBeUndefined();
    batch.add(body('data: a\n\n'), 7);
    batch.add(body('data: b\n\n'), 1234567890123);
    batch.add(body('data: c\n\n'), '');
    batch.add(body('data: d\n\n'), undefined);
    batch.add(body('data: e\n\n'), 0);
    expect(batch.isEmpty).toBe(false);
    expect(batch.take()?.toString('utf8')).toBe(
      'id: 7\ndata: a\n\nid: 1234567890123\ndata: b\n\nid: \ndata: c\n\ndata: d\n\nid: 0\ndata: e\n\n',
    );
    expect(batch.isEmpty).toBe(true);
    expect(batch.take()).toBeUndefined();
  });

  it('frames each event as an HTTP/1.1 chunk (hex size of the id line and body in bytes) when chunked', () => {
    const batch = new FrameBatch(true);
    const long = `data: ${'é'.repeat(200)}\n\n`; // 408 bytes, multi-byte characters
    batch.add(body('data: a\n\n'), 9);
    batch.add(body(long), 10);
    const out = batch.take()?.toString('utf8');
    const second = `id: 10\n${long}`;
    expect(out).toBe(`f\r\nid: 9\ndata: a\n\n\r\n${Buffer.byteLength(second).toString(16)}\r\n${second}\r\n`);
    batch.add(body('x'.repeat(0xfff - 6)), 1); // payload 0xfff bytes: three hex digits
    expect(batch.take()?.subarray(0, 5).toString('latin1')).toBe('fff\r\n');
  });
});
