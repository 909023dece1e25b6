/** What the slow-client test and its server process say to each other over IPC. */
export type ServerCommand =
  | { kind: 'broadcast'; id: number; channelId: string; count: number; payloadBytes: number }
  | { kind: 'memory'; id: number }
  | { kind: 'queue'; id: number; channelId: string; listenerId: string }
  | { kind: 'close' };

export interface MemoryFigures {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

export interface QueueFigures {
  size: number;
  dropped: number;
  maxSize: number;
}

export type ServerReport =
  | { kind: 'listening'; port: number }
  | { kind: 'unhandled'; message: string }
  | { kind: 'answer'; id: number; value: unknown };
