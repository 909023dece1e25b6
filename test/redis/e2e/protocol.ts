/** What the multi-instance test and its instance processes say to each other over IPC. */
export type InstanceCommand = { kind: 'close' };
export type InstanceReport = { kind: 'listening'; port: number } | { kind: 'unhandled'; message: string };
