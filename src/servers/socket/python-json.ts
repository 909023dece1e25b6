/**
 * `JSON`-text as Python's `json.dumps` writes it with its defaults, which is what the original eric_sse
 * server sends and its client writes: `", "` and `": "` separators, non-ASCII escaped as `\uXXXX`
 * (`ensure_ascii`), floats in Python's `repr` form.
 */
export function pythonJsonDumps(value: unknown): string {
  return dumpValue(value, new Set());
}

function dumpValue(value: unknown, seen: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return dumpString(value);
    case 'number':
      return dumpNumber(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return 'null';
  }
  if (value === null) return 'null';
  const object = value as object;
  if (typeof (object as { toJSON?: unknown }).toJSON === 'function') {
    return dumpValue((object as { toJSON(): unknown }).toJSON(), seen);
  }
  if (seen.has(object)) throw new TypeError('Circular reference detected');
  seen.add(object);
  try {
    if (Array.isArray(object)) {
      return `[${object.map((item) => dumpValue(item, seen)).join(', ')}]`;
    }
    const entries = Object.entries(object).map(([key, item]) => `${dumpString(key)}: ${dumpValue(item, seen)}`);
    return `{${entries.join(', ')}}`;
  } finally {
    seen.delete(object);
  }
}

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

// Python's ensure_ascii escapes everything outside printable ASCII (0x20-0x7e), UTF-16 unit by unit.
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/g;

function dumpString(text: string): string {
  NEEDS_ESCAPE.lastIndex = 0;
  if (!NEEDS_ESCAPE.test(text)) return `"${text}"`;
  return `"${text.replace(NEEDS_ESCAPE, escapeUnit)}"`;
}

function escapeUnit(unit: string): string {
  return SHORT_ESCAPES[unit] ?? `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * Integral values print as Python ints (JSON cannot tell `1.0` from `1` once parsed); other values as
 * Python's float repr, which switches to exponent form below 1e-4 with a two-digit exponent.
 */
function dumpNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
  if (Number.isInteger(value)) return Math.abs(value) < 1e21 ? String(value) : BigInt(value).toString();
  if (Math.abs(value) >= 1e-4) return String(value);
  const [mantissa, exponent] = value.toExponential().split('e') as [string, string];
  const sign = exponent.startsWith('-') ? '-' : '+';
  return `${mantissa}e${sign}${exponent.replace(/^[+-]/, '').padStart(2, '0')}`;
}
