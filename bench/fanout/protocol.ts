/**
 * What the fan-out suite's three kinds of process (driver, server, load generator) say to each other over
 * their child-process IPC channels, and the settings they share.
 */

/** Clients connected to the one channel, warm-up broadcasts (not measured), measured broadcasts. */
export interface FanoutSettings {
  clients: number;
  warmupBroadcasts: number;
  broadcasts: number;
}

export const DEFAULT_SETTINGS: FanoutSettings = { clients: 1000, warmupBroadcasts: 20, broadcasts: 200 };

/** The path every server streams the channel on. */
export const STREAM_PATH = '/events';

/** The broadcast body. `sentAt` is stamped by the server right before it broadcasts. */
export interface FanoutPayload {
  seq: number;
  sentAt: number;
  pad: string;
}

/**
 * Milliseconds since the epoch with sub-millisecond resolution, comparable between processes on one
 * machine (each process's `timeOrigin` is taken from the same system clock).
 */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

// Brings the JSON of a payload to about 100 bytes.
const PAD = 'x'.repeat(54);

export function makePayload(seq: number): FanoutPayload {
  return { seq, sentAt: now(), pad: PAD };
}

/** Driver → server. */
export type ServerCommand =
  | { kind: 'broadcast'; seq: number }
  | { kind: 'await-subscribers'; count: number }
  | { kind: 'cpu-usage' }
  | { kind: 'shutdown' };

/** Server → driver. */
export type ServerReport =
  | { kind: 'listening'; port: number }
  | { kind: 'broadcasted'; seq: number; sentAt: number }
  | { kind: 'subscribers'; count: number }
  /** CPU time the server process has used so far (user + system, all threads), in microseconds. */
  | { kind: 'cpu-usage'; micros: number }
  | { kind: 'error'; message: string };

/** Driver → load generator. */
export type LoadCommand =
  /** `ports`: several instances of one app; client i streams from `ports[i % ports.length]`. Default `[port]`. */
  | { kind: 'connect'; port: number; ports?: number[]; settings: FanoutSettings }
  | { kind: 'await-warmup' }
  | { kind: 'await-measured' }
  | { kind: 'shutdown' };

/** What the load generator measured over the measured broadcasts. */
export interface LoadResult {
  /** Events received, duplicates not counted. */
  received: number;
  expected: number;
  /** Measured events that never arrived, summed over clients. */
  missing: number;
  /** Clients that missed at least one measured event. */
  clientsMissing: number;
  duplicates: number;
  /** Responses that ended before the load generator shut down. */
  closedEarly: number;
  lastReceivedAt: number;
  p50Ms: number;
  p99Ms: number;
  /** True when the wait ended because events stopped arriving, not because all arrived. */
  timedOut: boolean;
}

/** Load generator → driver. */
export type LoadReport =
  | { kind: 'connected'; millis: number }
  | { kind: 'warm'; missing: number }
  | { kind: 'measured'; result: LoadResult }
  | { kind: 'error'; message: string };
