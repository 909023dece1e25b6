/** What the soak driver asks its server process, and what the server answers (over IPC). */
export type ServerCommand =
  /** Memory, event-loop delay since the last sample, open streams, listeners. `gc` collects first. */
  { kind: 'sample'; gc: boolean } | { kind: 'shutdown' };

export interface ServerSample {
  kind: 'sample';
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** Event-loop delay percentiles since the previous sample, in ms (beyond the sampling timer's own interval). */
  loopP50Ms: number;
  loopP99Ms: number;
  loopMaxMs: number;
  /** SSE streams open (`EricSseStreams.openStreams`). */
  openStreams: number;
  channels: number;
  listeners: number;
  /** Listeners running (being streamed, over SSE or the socket). */
  runningListeners: number;
  /** Server CPU time since start, in microseconds. */
  cpuMicros: number;
  /** Errors the server logged so far. */
  errorsLogged: number;
}

export type ServerReport =
  | { kind: 'ready'; port: number; socketPath: string; stableChannels: string[] }
  | ServerSample
  | { kind: 'error'; message: string };
