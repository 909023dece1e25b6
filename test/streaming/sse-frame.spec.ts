import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  InvalidMessageFormat,
  SSE_KEEP_ALIVE_FRAME,
  encodeSseComment,
  encodeSseFrame,
  serializeSseData,
} from '../../src/index.js';
import { parseBlock } from './support.js';

/** What an EventSource would dispatch for `frame`. */
function parse(frame: string) {
  expect(frame.endsWith('\n\n')).toBe(true);
  expect(frame.slice(0, -2)).not.toContain('\n\n');
  return parseBlock(frame.slice(0, -2));
}

describe('serializeSseData', () => {
  it('sends strings as they are, undefined as empty, anything else as JSON', () => {
    expect(serializeSseData('plain "text"')).toBe('plain "text"');
    expect(serializeSseData(undefined)).toBe('');
    expect(serializeSseData(null)).toBe('null');
    expect(serializeSseData(0)).toBe('0');
    expect(serializeSseData(false)).toBe('false');
    expect(serializeSseData({ a: [1, 'b'] })).toBe('{"a":[1,"b"]}');
  });

  it('rejects values JSON cannot represent with InvalidMessageFormat', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(() => serializeSseData(circular)).toThrow(InvalidMessageFormat);
    expect(() => serializeSseData(10n)).toThrow(/cannot be serialized to JSON/);
    expect(() => serializeSseData(() => 1)).toThrow(/type function has no JSON form/);
    expect(() => serializeSseData(Symbol('s'))).toThrow(InvalidMessageFormat);
  });
});

describe('encodeSseFrame', () => {
  it('writes id, event, retry and data, then the blank line', () => {
    expect(encodeSseFrame({ id: '7', event: 'greeting', retry: 1500, data: { to: 'you' } })).toBe(
      'id: 7\nevent: greeting\nretry: 1500\ndata: {"to":"you"}\n\n',
    );
    expect(encodeSseFrame({ data: 'x' })).toBe('data: x\n\n');
  });

  it('still sends a data line for empty data, which a client would otherwise drop', () => {
    expect(encodeSseFrame({ event: 'ping' })).toBe('event: ping\ndata: \n\n');
    expect(parse(encodeSseFrame({ event: 'ping' }))).toEqual({ event: 'ping', data: '' });
  });

  it('splits multi-line data on every line ending into several data lines', () => {
    expect(encodeSseFrame({ data: 'a\nb\r\nc\rd' })).toBe('data: a\ndata: b\ndata: c\ndata: d\n\n');
    expect(encodeSseFrame({ data: 'end\n' })).toBe('data: end\ndata: \n\n');
    expect(parse(encodeSseFrame({ data: 'a\n\nb' }))?.data).toBe('a\n\nb');
  });

  it('keeps leading spaces: only the one after the colon is the separator', () => {
    expect(parse(encodeSseFrame({ event: ' x', data: '  two' }))).toEqual({ event: ' x', data: '  two' });
  });

  it('strips line breaks from event and id so they cannot end the field or the event early', () => {
    const frame = encodeSseFrame({ event: 'bad\r\nevent: evil', id: 'i\nd\0', data: 'ok' });
    expect(frame).toBe('id: id\nevent: badevent: evil\ndata: ok\n\n');
  });

  it('writes retry as an integer and rejects a negative or non-finite one', () => {
    expect(encodeSseFrame({ retry: 2.9, data: '' })).toBe('retry: 2\ndata: \n\n');
    expect(encodeSseFrame({ retry: 0, data: '' })).toBe('retry: 0\ndata: \n\n');
    expect(() => encodeSseFrame({ retry: -1, data: '' })).toThrow(InvalidMessageFormat);
    expect(() => encodeSseFrame({ retry: Number.NaN, data: '' })).toThrow(/retry must be a finite number >= 0/);
    expect(() => encodeSseFrame({ retry: Infinity, data: '' })).toThrow(InvalidMessageFormat);
  });

  it('round-trips any text through a spec parser (line endings normalised to \\n)', () => {
    const text = fc.string({ unit: fc.constantFrom('a', ' ', ':', '\n', '\r', '\0', 'é', '😀', 'data: ') });
    fc.assert(
      fc.property(text, text, text, (event, id, data) => {
        const frame = encodeSseFrame({ event, id, data });
        expect(frame).not.toContain('\r');
        const parsed = parse(frame);
        expect(parsed?.data).toBe(data.replace(/\r\n|\r/g, '\n'));
        expect(parsed?.event).toBe(event.replace(/[\r\n]/g, ''));
        expect(parsed?.id).toBe(id.replace(/[\r\n\0]/g, ''));
      }),
    );
  });
});

describe('encodeSseComment', () => {
  it('writes comment lines that clients ignore', () => {
    expect(encodeSseComment()).toBe(':\n');
    expect(encodeSseComment('hi')).toBe(': hi\n');
    expect(encodeSseComment('a\r\n\nb')).toBe(': a\n:\n: b\n');
    expect(parseBlock(encodeSseComment('a\nb'))).toBeUndefined();
    expect(parseBlock(SSE_KEEP_ALIVE_FRAME.trimEnd())).toBeUndefined();
  });
});
