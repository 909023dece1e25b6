import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { EricSseException, InvalidChannelException, InvalidMessageFormat } from '../../../src/core/errors.js';
import {
  errorFromAnswer,
  formatErrorAnswer,
  parseErrorAnswer,
  parsePythonStringLiteral,
  pythonJsonDumps,
  pythonStringRepr,
} from '../../../src/servers/socket/index.js';

describe('pythonJsonDumps (json.dumps defaults)', () => {
  it('separates items with ", " and keys with ": ", keeping key order', () => {
    expect(pythonJsonDumps({ event: 'greet', retry: 5, data: { a: [1, 2], b: null } })).toBe(
      '{"event": "greet", "retry": 5, "data": {"a": [1, 2], "b": null}}',
    );
  });

  it('writes empty containers, booleans and missing values as Python would', () => {
    expect(pythonJsonDumps({ a: {}, b: [], c: true, d: false, e: undefined })).toBe(
      '{"a": {}, "b": [], "c": true, "d": false, "e": null}',
    );
    expect(pythonJsonDumps(undefined)).toBe('null');
  });

  it('escapes non-ASCII as \\uXXXX (lowercase, surrogate pairs) and control characters', () => {
    expect(pythonJsonDumps('héllo 😀')).toBe('"h\\u00e9llo \\ud83d\\ude00"');
    expect(pythonJsonDumps('a"b\\c\n\r\t\b\f\u0001\u007f~')).toBe('"a\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u007f~"');
    expect(pythonJsonDumps({ clé: 1 })).toBe('{"cl\\u00e9": 1}');
  });

  it('writes numbers as Python ints and float reprs', () => {
    expect(pythonJsonDumps([0, -3, 1.5, 0.1, 1e-4, 1.5e-5, 1e-7, 1e20, 1e21, NaN, Infinity, -Infinity])).toBe(
      '[0, -3, 1.5, 0.1, 0.0001, 1.5e-05, 1e-07, 100000000000000000000, 1000000000000000000000, NaN, Infinity, -Infinity]',
    );
  });

  it('parses back to the same value for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(JSON.parse(pythonJsonDumps(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  it('uses toJSON and rejects circular structures', () => {
    expect(pythonJsonDumps({ when: new Date(0) })).toBe('{"when": "1970-01-01T00:00:00.000Z"}');
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(() => pythonJsonDumps(loop)).toThrow('Circular reference detected');
    const shared = { x: 1 };
    expect(pythonJsonDumps([shared, shared])).toBe('[{"x": 1}, {"x": 1}]');
  });
});

describe('pythonStringRepr (repr of a str)', () => {
  it.each([
    ['No channel with id 2', "'No channel with id 2'"],
    ["it's", '"it\'s"'],
    ['say "hi"', '\'say "hi"\''],
    ['both \' and "', "'both \\' and \"'"],
    ['back\\slash', "'back\\\\slash'"],
    ['tab\tnew\nret\r', "'tab\\tnew\\nret\\r'"],
    ['\u0000\u007f\u00a0\u200b\u2028', "'\\x00\\x7f\\xa0\\u200b\\u2028'"],
    ['héllo 😀 中', "'héllo 😀 中'"],
    ['\u{e0001}', "'\\U000e0001'"],
    ['', "''"],
  ])('repr(%j) is %s', (text, repr) => {
    expect(pythonStringRepr(text)).toBe(repr);
  });

  it('is read back by parsePythonStringLiteral for any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(parsePythonStringLiteral(pythonStringRepr(text))).toBe(text);
      }),
    );
  });

  it('parsePythonStringLiteral rejects what is not exactly one literal', () => {
    for (const bad of ['', "'", 'abc', "'a'b'", "'a\\'", "'\\x4'", "'\\U00110000'", '"a\'', "'a', 'b'"]) {
      expect(parsePythonStringLiteral(bad)).toBeUndefined();
    }
    expect(parsePythonStringLiteral("'\\a\\b\\f\\v\\0\\q\\\"'")).toBe('\x07\b\f\v\0\\q"');
  });
});

describe('error answers', () => {
  it("are Python's repr of the exception", () => {
    expect(formatErrorAnswer(new InvalidChannelException('No channel with id 2'))).toBe(
      "InvalidChannelException('No channel with id 2')",
    );
    expect(formatErrorAnswer(new InvalidMessageFormat())).toBe('InvalidMessageFormat()');
    expect(formatErrorAnswer(new TypeError("can't"))).toBe('TypeError("can\'t")');
    expect(formatErrorAnswer('thrown text')).toBe("Exception('thrown text')");
    const odd = new Error('x');
    odd.name = 'not a name';
    expect(formatErrorAnswer(odd)).toBe("Exception('x')");
  });

  it('are read back, and nothing else is', () => {
    expect(parseErrorAnswer("InvalidChannelException('No channel with id 2')")).toEqual({
      name: 'InvalidChannelException',
      message: 'No channel with id 2',
    });
    expect(parseErrorAnswer('NoMessagesException()')).toEqual({ name: 'NoMessagesException', message: '' });
    expect(parseErrorAnswer('ack')).toBeUndefined();
    expect(parseErrorAnswer('6f1c2a9e-1111-4222-8333-444455556666')).toBeUndefined();
    expect(parseErrorAnswer('{"event": "x", "retry": 5, "data": null}')).toBeUndefined();
    expect(parseErrorAnswer('f(x)')).toBeUndefined();
    expect(parseErrorAnswer("KeyError('a', 'b')")).toBeUndefined();
  });

  it("become this library's error classes, or an Error named after the remote class", () => {
    const known = errorFromAnswer("InvalidChannelException('No channel with id 2')");
    expect(known).toBeInstanceOf(InvalidChannelException);
    expect(known).toBeInstanceOf(EricSseException);
    expect(known?.message).toBe('No channel with id 2');
    const remote = errorFromAnswer("TypeError(\"object async_generator can't be used in 'await' expression\")");
    expect(remote).toBeInstanceOf(Error);
    expect(remote?.name).toBe('TypeError');
    expect(remote?.message).toBe("object async_generator can't be used in 'await' expression");
    expect(errorFromAnswer("toString('x')")?.name).toBe('toString');
    expect(errorFromAnswer('ack')).toBeUndefined();
  });
});
