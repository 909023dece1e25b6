import { InMemorySseHistory } from '../../sse/in-memory-sse-history.js';
import { DEFAULT_KEEP_ALIVE_MILLISECONDS } from '../../sse/sse-response.js';
import { lastEventIdOf, parseLastEventId, type RequestLike, type SseHistory } from '../../sse/sse-history.js';

/** @internal Injection token of what `EricSseStreams` numbers, keeps and paces events with. */
export const ERIC_SSE_STREAMING = Symbol('ERIC_SSE_STREAMING');

/** @internal */
export interface EricSseStreamingSettings {
  /** The backend's: in this process, or in Redis for every instance; undefined: no ids, no replay. */
  history: SseHistory | undefined;
  /** Spacing of keep-alive comments on idle streams; 0 sends none. */
  keepAliveMilliseconds: number;
}

/** Outside `EricSseModule` (a bare provider): histories in this process, the default spacing. */
export function defaultStreamingSettings(): EricSseStreamingSettings {
  return { history: new InMemorySseHistory(), keepAliveMilliseconds: DEFAULT_KEEP_ALIVE_MILLISECONDS };
}

/**
 * Where a stream resumes from: an id as sent (`Last-Event-ID`), or the request that carries it in its
 * header or `lastEventId` query parameter.
 */
export type ResumeFrom = string | number | RequestLike | undefined;

export function resumeIdOf(from: ResumeFrom): number | undefined {
  if (from === undefined || from === null) return undefined;
  if (typeof from === 'number') return Number.isSafeInteger(from) && from >= 0 ? from : undefined;
  if (typeof from === 'string') return parseLastEventId(from);
  return typeof from === 'object' && typeof from.headers === 'object' ? lastEventIdOf(from) : undefined;
}
