/** IPC between the idle suite's driver, its server processes and its load process. */

export type ServerCommand =
  /** Ours: make listeners `l0` .. `l<count-1>` exist (a client subscribes before it streams). */
  { kind: 'prepare'; count: number } | { kind: 'sample'; gc: boolean } | { kind: 'shutdown' };

export type ServerReport =
  | { kind: 'ready'; port: number; pathTemplate: string }
  | { kind: 'prepared' }
  | {
      kind: 'sample';
      rssBytes: number;
      heapUsedBytes: number;
      openStreams: number;
      /** Process CPU time (user + system, every thread) since start. */
      cpuMicros: number;
      /** Time spent in garbage collections since start (their pauses on the main thread). */
      gcMicros: number;
      /** Major (mark-compact) collections since start. */
      majorGcs: number;
    }
  | { kind: 'error'; message: string };

export type LoadCommand =
  /** Opens clients `from` .. `to - 1` on `pathTemplate` (`{i}` replaced by the client's number). */
  | { kind: 'connect'; port: number; pathTemplate: string; from: number; to: number }
  /** Starts counting the bytes the clients receive. */
  | { kind: 'mark' }
  | { kind: 'bytes' }
  | { kind: 'close-all' }
  | { kind: 'shutdown' };

export type LoadReport =
  | { kind: 'ready' }
  /** Every client asked for is open with a 200 and its headers; `firstOpenAt` is when the first one opened (epoch ms). */
  | { kind: 'connected'; open: number; firstOpenAt: number }
  | { kind: 'marked' }
  | { kind: 'bytes'; bytes: number }
  | { kind: 'closed' }
  | { kind: 'error'; message: string };

export const IDLE_CHANNEL = 'idle';
