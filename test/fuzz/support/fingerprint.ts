import { createHash } from 'node:crypto';

/**
 * A short digest of a JSON value, computed without recursion so a payload nested 100,000 levels deep
 * can be compared too. Equal for values JSON cannot tell apart (object key order aside, which JSON
 * keeps and so does this).
 */
export function fingerprint(value: unknown): string {
  const hash = createHash('sha1');
  const pending: unknown[] = [value];
  let nodes = 0;
  while (pending.length > 0) {
    const next = pending.pop();
    nodes++;
    if (next === CLOSE_ARRAY || next === CLOSE_OBJECT) {
      hash.update(next === CLOSE_ARRAY ? ']' : '}');
    } else if (Array.isArray(next)) {
      hash.update('[');
      pending.push(CLOSE_ARRAY);
      for (let i = next.length - 1; i >= 0; i--) pending.push(next[i]);
    } else if (next instanceof Key) {
      hash.update(`k${JSON.stringify(next.name)}`);
    } else if (typeof next === 'object' && next !== null) {
      hash.update('{');
      pending.push(CLOSE_OBJECT);
      const entries = Object.entries(next);
      for (let i = entries.length - 1; i >= 0; i--) pending.push(entries[i][1], new Key(entries[i][0]));
    } else {
      hash.update(next === undefined ? 'u' : `${typeof next}:${JSON.stringify(next)};`);
    }
  }
  return `${hash.digest('hex').slice(0, 12)}/${nodes}`;
}

const CLOSE_ARRAY = Symbol('close-array');
const CLOSE_OBJECT = Symbol('close-object');

class Key {
  constructor(readonly name: string) {}
}
