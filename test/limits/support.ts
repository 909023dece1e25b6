import { setEricLogger, type MessageContract } from '../../src/index.js';

/** The types of messages, in order. */
export function types(messages: readonly MessageContract[]): string[] {
  return messages.map((msg) => msg.type);
}

/** Captures the core's debug lines until `setEricLogger()` restores the default. */
export function debugLines(): string[] {
  const lines: string[] = [];
  setEricLogger({ debug: (line) => lines.push(line), error: () => undefined });
  return lines;
}
