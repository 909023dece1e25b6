/** Where the framework-free core writes its diagnostics. The Nest module points it at Nest's Logger. */
export interface EricLogger {
  debug(message: string): void;
  error(message: string, error?: unknown): void;
}

const consoleLogger: EricLogger = {
  debug: () => {},
  error: (message, error) => console.error(`[eric-sse] ${message}`, error ?? ''),
};

let current: EricLogger = consoleLogger;

export function getEricLogger(): EricLogger {
  return current;
}

/** Replaces the logger the core uses; pass nothing to restore the default (errors to stderr). */
export function setEricLogger(logger?: EricLogger): void {
  current = logger ?? consoleLogger;
}
