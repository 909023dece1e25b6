import type { AbstractChannel } from '../core/channel.js';
import type { Connection } from '../core/connection.js';
import { MESSAGE_TYPE_HISTORY_GAP } from '../core/constants.js';
import { assertInteger } from '../core/validate.js';
import { EncodedSseEvent } from './encoded-sse-event.js';

/** How much of each listener's delivered events is kept for streams resuming from `Last-Event-ID`. */
export interface SseHistoryOptions {
  /** Events kept per listener, the most recent ones; 0 keeps none (ids are still sent). Default 1000. */
  maxEvents?: number;
  /** How long a delivered event is kept, in milliseconds. Default 300000 (5 minutes). */
  maxAgeMilliseconds?: number;
}

export interface ResolvedSseHistoryOptions {
  maxEvents: number;
  maxAgeMilliseconds: number;
}

export const DEFAULT_HISTORY_MAX_EVENTS = 1000;
export const DEFAULT_HISTORY_MAX_AGE_MILLISECONDS = 300_000;

/** Validates the options (`InvalidConfigurationException` naming the bad one, under `name`) and fills in defaults. */
export function resolveSseHistoryOptions(options: SseHistoryOptions = {}, name = 'history'): ResolvedSseHistoryOptions {
  return {
    maxEvents: assertInteger(options.maxEvents ?? DEFAULT_HISTORY_MAX_EVENTS, `${name}.maxEvents`, 0),
    maxAgeMilliseconds: assertInteger(
      options.maxAgeMilliseconds ?? DEFAULT_HISTORY_MAX_AGE_MILLISECONDS,
      `${name}.maxAgeMilliseconds`,
      1,
    ),
  };
}

/** What a stream resuming after an id is sent before the listener's queue. */
export interface HistoryReplay {
  /** The events after that id still held, oldest first; their ids follow each other from `firstId`. */
  events: readonly EncodedSseEvent[];
  firstId: number;
  /**
   * True when events right after that id are no longer held (too old, or too many since): the stream
   * then starts with the `MESSAGE_TYPE_HISTORY_GAP` event.
   */
  gap: boolean;
}

/**
 * One listener's event ids and replay history. Ids are 1, 2, 3... per listener, whichever stream (or,
 * on Redis, whichever instance) delivers the event, and never reused while the listener exists.
 */
export interface ListenerHistory {
  /** In-process histories: the id of one event being delivered now, kept for replay. */
  recordNow?(event: EncodedSseEvent): number;
  /** The id of the first of `events` being delivered now (the others follow), kept for replay. */
  record(events: readonly EncodedSseEvent[]): number | Promise<number>;
  /**
   * What a stream resuming after `lastEventId` must be sent first. Undefined when that id is not one
   * this listener has given yet (a client of an older listener, or a made-up id): the stream then
   * starts as if no id had been sent.
   */
  replay(lastEventId: number): HistoryReplay | undefined | Promise<HistoryReplay | undefined>;
  /**
   * Where a stream starting now resumes: after `lastEventId` when this listener gave that id; else
   * (no id, or one it never gave) after the start of the last stream marked unconfirmed since (see
   * `markUnconfirmed`), which this forgets; else after the listener's last id.
   */
  open(lastEventId: number | undefined): HistoryReplay | Promise<HistoryReplay>;
  /**
   * A stream that started after `start` ended without its client having read what it was sent (its
   * connection failed: reset, broken pipe). Such a client, if it saw no id, reconnects without one: the
   * next stream without a known id then resumes after `start`, so it gets what that stream lost.
   */
  markUnconfirmed(start: number): void | Promise<void>;
}

/** Where listeners' event ids and replay histories are kept: in this process, or in Redis for every instance. */
export interface SseHistory {
  readonly options: ResolvedSseHistoryOptions;
  forListener(channel: AbstractChannel, connection: Connection): ListenerHistory;
}

const LAST_EVENT_ID = /^\d{1,16}$/;

/**
 * The event id a client resumes after: a decimal integer as streams send them. Anything else (empty,
 * malformed, beyond `Number.MAX_SAFE_INTEGER`) is undefined: the stream starts as if no id was sent.
 */
export function parseLastEventId(value: unknown): number | undefined {
  if (Array.isArray(value)) value = value[0];
  if (typeof value !== 'string' || !LAST_EVENT_ID.test(value)) return undefined;
  const id = Number(value);
  return Number.isSafeInteger(id) ? id : undefined;
}

/** A request as `lastEventIdOf` reads it (Node's `IncomingMessage`, Express or Fastify requests). */
export interface RequestLike {
  headers: Record<string, string | string[] | undefined>;
  url?: string;
  originalUrl?: string;
}

/**
 * The id a reconnecting client resumes after: the `Last-Event-ID` header (an `EventSource` sends it),
 * else the `lastEventId` query parameter (for clients that cannot set headers), parsed by
 * `parseLastEventId`.
 */
export function lastEventIdOf(req: RequestLike): number | undefined {
  const header = req.headers?.['last-event-id'];
  if (header !== undefined && header !== '') return parseLastEventId(header);
  const url = req.originalUrl ?? req.url ?? '';
  const query = url.indexOf('?');
  if (query === -1) return undefined;
  return parseLastEventId(new URLSearchParams(url.slice(query + 1)).get('lastEventId') ?? undefined);
}

/** The `MESSAGE_TYPE_HISTORY_GAP` event; its id is the one before `firstAvailableId`. */
export function historyGapEvent(lastEventId: number, firstAvailableId: number): EncodedSseEvent {
  return new EncodedSseEvent({ event: MESSAGE_TYPE_HISTORY_GAP, data: { lastEventId, firstAvailableId } });
}
