import { InvalidMessageFormat } from '../../core/errors.js';

/**
 * One command as a client sends it: a JSON object with `v` (verb), `c` (channel id), `r` (receiver:
 * listener id), `t` (message type), `p` (payload), and optionally `k` (an idempotency key, verbs `d` and
 * `b`); other keys (e.g. `pattern`/`data`) go to the fallback.
 */
export type SocketCommand = Record<string, unknown>;

/** The verbs of the eric socket protocol. */
export const SOCKET_VERBS = ['c', 'r', 'd', 'b', 'rl', 'rc', 'l', 'w'] as const;
export type SocketVerb = (typeof SOCKET_VERBS)[number];

const VERBS: ReadonlySet<unknown> = new Set(SOCKET_VERBS);

export function isSocketVerb(verb: unknown): verb is SocketVerb {
  return VERBS.has(verb);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes and parses the bytes of one command; anything but a UTF-8 JSON object is `InvalidMessageFormat`. */
export function parseSocketCommand(raw: Uint8Array | string): SocketCommand {
  let text: string;
  try {
    text = typeof raw === 'string' ? raw : utf8.decode(raw);
  } catch {
    throw new InvalidMessageFormat('Command is not valid UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InvalidMessageFormat(`Malformed JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidMessageFormat(`Command must be a JSON object, got ${describeJson(parsed)}`);
  }
  return parsed as SocketCommand;
}

function describeJson(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}
