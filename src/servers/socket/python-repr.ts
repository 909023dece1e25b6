/**
 * Python's `repr()` of a `str`, as the original server writes error texts like
 * `InvalidChannelException('No channel with id 2')`: single quotes unless the text holds `'` and no `"`,
 * non-printable characters escaped as `\xNN`, `\uNNNN` or `\UNNNNNNNN`.
 */
export function pythonStringRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const char of text) {
    if (char === quote || char === '\\') out += `\\${char}`;
    else if (char === '\t') out += '\\t';
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === ' ' || !NON_PRINTABLE.test(char)) out += char;
    else out += hexEscape(char.codePointAt(0) as number);
  }
  return out + quote;
}

// What Python's str.isprintable() rejects: categories C* and Z* (the space is allowed separately).
const NON_PRINTABLE = /^[\p{C}\p{Z}]$/u;

function hexEscape(codePoint: number): string {
  if (codePoint <= 0xff) return `\\x${codePoint.toString(16).padStart(2, '0')}`;
  if (codePoint <= 0xffff) return `\\u${codePoint.toString(16).padStart(4, '0')}`;
  return `\\U${codePoint.toString(16).padStart(8, '0')}`;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  n: '\n',
  r: '\r',
  t: '\t',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
  '0': '\0',
};

const HEX_DIGITS: Record<string, number> = { x: 2, u: 4, U: 8 };

/**
 * Reads one quoted Python string literal (the form `repr()` writes) that spans all of `literal`.
 * Returns undefined when `literal` is not exactly one such literal.
 */
export function parsePythonStringLiteral(literal: string): string | undefined {
  const quote = literal[0];
  if ((quote !== "'" && quote !== '"') || literal.length < 2 || literal[literal.length - 1] !== quote) {
    return undefined;
  }
  let out = '';
  const end = literal.length - 1;
  for (let i = 1; i < end; i++) {
    const char = literal[i] as string;
    if (char === quote) return undefined;
    if (char !== '\\') {
      out += char;
      continue;
    }
    const code = literal[++i];
    if (code === undefined || i >= end) return undefined;
    const simple = SIMPLE_ESCAPES[code];
    const digits = HEX_DIGITS[code];
    if (simple !== undefined) {
      out += simple;
    } else if (digits !== undefined) {
      const hex = literal.slice(i + 1, i + 1 + digits);
      if (hex.length !== digits || !/^[0-9a-fA-F]+$/.test(hex) || i + digits >= end) return undefined;
      const codePoint = parseInt(hex, 16);
      if (codePoint > 0x10ffff) return undefined;
      out += String.fromCodePoint(codePoint);
      i += digits;
    } else {
      out += `\\${code}`;
    }
  }
  return out;
}
