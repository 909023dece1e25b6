/** IPC between the socket suite's driver and its two children (servers, load). */

export type ServerName = 'ours' | 'bare';

export type ServersCommand = { kind: 'reset' } | { kind: 'cpu' } | { kind: 'stop' };
export type ServersReport =
  | { kind: 'ready'; paths: Record<ServerName, string>; channelId: string }
  | { kind: 'reset' }
  /** CPU time (user + system) the servers' process has used so far, in microseconds. */
  | { kind: 'cpu'; micros: number }
  | { kind: 'error'; message: string };

export type LoadCommand = { kind: 'run'; path: string; command: string; durationMs: number } | { kind: 'stop' };
export type LoadReport =
  | { kind: 'ready' }
  | { kind: 'result'; commands: number; seconds: number; unexpected: number; sample: string }
  | { kind: 'error'; message: string };

/** Connections open at once, one command each. */
export const CONCURRENCY = 16;
/** Listeners on the channel the commands broadcast to. */
export const LISTENERS = 10;
