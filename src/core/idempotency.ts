import { InvalidConfigurationException, InvalidMessageFormat } from './errors.js';

/** How long a channel remembers an idempotency key unless told otherwise: 5 minutes. */
export const DEFAULT_IDEMPOTENCY_WINDOW_MILLISECONDS = 300_000;
/** Most idempotency keys one channel remembers unless told otherwise; past it the oldest is forgotten. */
export const DEFAULT_MAX_IDEMPOTENCY_KEYS = 100_000;
/** Longest idempotency key, in bytes of UTF-8. */
export const MAX_IDEMPOTENCY_KEY_BYTES = 256;

/** How long, and how many, idempotency keys a channel remembers. */
export interface IdempotencyOptions {
  /** How long a key is remembered after the call that first used it, in ms. Default 300000 (5 minutes). */
  windowMilliseconds?: number;
  /** Most keys remembered per channel; past it the oldest is forgotten early. Default 100,000. */
  maxKeys?: number;
}

export interface ResolvedIdempotencyOptions {
  windowMilliseconds: number;
  maxKeys: number;
}

/** The options of `dispatch`, `broadcast` and `broadcastAndCount`. */
export interface PublishOptions {
  /**
   * Makes the call safe to retry: a call carrying a key the channel saw within its idempotency window
   * queues nothing and answers as the first call did. A call that failed does not count as seen. A
   * non-empty string of at most 256 bytes (UTF-8) without control characters; anything else is
   * `InvalidMessageFormat`.
   */
  idempotencyKey?: string;
  /** Called when the call was a repeat of an earlier one with the same key (nothing was queued). */
  onReplay?: () => void;
}

const OPTION_KEYS = ['windowMilliseconds', 'maxKeys'];

/** Validates idempotency options; a bad one is an `InvalidConfigurationException` naming it (under `prefix`). */
export function resolveIdempotencyOptions(options: unknown, prefix = 'idempotency.'): ResolvedIdempotencyOptions {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidConfigurationException(
      `${prefix.slice(0, -1)} must be an object { windowMilliseconds?, maxKeys? }, got ${JSON.stringify(options)}`,
    );
  }
  const given = options as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!OPTION_KEYS.includes(key)) {
      throw new InvalidConfigurationException(
        `${prefix}${key} is not an option (known: ${OPTION_KEYS.map((k) => prefix + k).join(', ')})`,
      );
    }
  }
  return {
    windowMilliseconds: positiveInteger(
      given.windowMilliseconds ?? DEFAULT_IDEMPOTENCY_WINDOW_MILLISECONDS,
      `${prefix}windowMilliseconds`,
    ),
    maxKeys: positiveInteger(given.maxKeys ?? DEFAULT_MAX_IDEMPOTENCY_KEYS, `${prefix}maxKeys`),
  };
}

function positiveInteger(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidConfigurationException(`${name} must be an integer >= 1, got ${JSON.stringify(value)}`);
  }
  return value;
}

// C0 and C1 control characters and DEL; lone surrogates (they have no UTF-8 form: two would collide in Redis).
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f]|\p{Cs}/u;
const SHOWN_CHARS = 32;

/** Returns `key` when it is a valid idempotency key; throws `InvalidMessageFormat` saying why otherwise. */
export function assertIdempotencyKey(key: unknown): string {
  if (typeof key !== 'string') {
    throw new InvalidMessageFormat(`An idempotency key must be a string, got ${describeType(key)}`);
  }
  if (key === '') throw new InvalidMessageFormat('An idempotency key must not be empty');
  // A string has at least as many UTF-8 bytes as UTF-16 units: a long one is refused without encoding it.
  if (key.length > MAX_IDEMPOTENCY_KEY_BYTES || Buffer.byteLength(key, 'utf8') > MAX_IDEMPOTENCY_KEY_BYTES) {
    throw new InvalidMessageFormat(
      `An idempotency key must be at most ${MAX_IDEMPOTENCY_KEY_BYTES} bytes (UTF-8), got ${showKey(key)}`,
    );
  }
  if (FORBIDDEN.test(key)) {
    throw new InvalidMessageFormat(
      `An idempotency key must not hold control characters or lone surrogates, got ${showKey(key)}`,
    );
  }
  return key;
}

/** The validated key of publish options (undefined: none); bad options are `InvalidMessageFormat`. */
export function idempotencyKeyOf(options: PublishOptions | undefined): string | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) {
    throw new InvalidMessageFormat(
      `Publish options must be an object { idempotencyKey? }, got ${describeType(options)}`,
    );
  }
  const { idempotencyKey } = options;
  return idempotencyKey === undefined ? undefined : assertIdempotencyKey(idempotencyKey);
}

/** A short, escaped prefix of a refused key, so an error never echoes a huge or unprintable input. */
function showKey(key: string): string {
  const shown = JSON.stringify(key.slice(0, SHOWN_CHARS));
  return key.length > SHOWN_CHARS ? `${shown}... (${key.length} characters)` : shown;
}

function describeType(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

interface Remembered {
  readonly answer: Promise<number>;
  readonly expiresAt: number;
}

/**
 * The idempotency keys one channel saw within its window, each with the answer of the call that used it
 * first (a promise: a repeat made while that call is in flight gets its outcome too). Bounded in time
 * and in count: expired keys are dropped as calls come, and past `maxKeys` the oldest goes. A call that
 * fails forgets its key, so that its retry really publishes.
 */
export class IdempotencyKeys {
  // In insertion order, which is also expiry order (one window, a monotonic clock).
  private readonly entries = new Map<string, Remembered>();

  constructor(
    private readonly options: ResolvedIdempotencyOptions,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The first answer for `key`, while within the window; undefined when unseen, expired or forgotten. */
  answerOf(key: string): Promise<number> | undefined {
    this.expire();
    return this.entries.get(key)?.answer;
  }

  /** Remembers `key` with the answer of the call that used it first. */
  record(key: string, answer: Promise<number>): void {
    this.expire();
    this.entries.delete(key);
    for (const oldest of this.entries.keys()) {
      if (this.entries.size < this.options.maxKeys) break;
      this.entries.delete(oldest);
    }
    const entry: Remembered = { answer, expiresAt: this.now() + this.options.windowMilliseconds };
    this.entries.set(key, entry);
    answer.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
  }

  private expire(): void {
    const now = this.now();
    for (const [key, { expiresAt }] of this.entries) {
      if (expiresAt > now) return;
      this.entries.delete(key);
    }
  }
}
