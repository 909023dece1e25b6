/** How long any single exchange with a server may take before the harness calls it a hang. */
export const ANSWER_DEADLINE_MS = 5000;

/** Resolves once `check` is true, re-checking every turn of the event loop; throws naming `what` after `timeoutMs`. */
export async function until(check: () => boolean, what: string, timeoutMs = ANSWER_DEADLINE_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** `promise`, or a rejection naming `what` if it has not settled within `timeoutMs` (then `onTimeout` runs). */
export function withDeadline<T>(
  promise: Promise<T>,
  what: string,
  onTimeout: () => void = () => {},
  timeoutMs = ANSWER_DEADLINE_MS,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`Hang: no complete answer to ${what} within ${timeoutMs} ms`));
    }, timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** A short, printable form of a long text for counterexamples: its head, its length, and its tail. */
export function abbreviate(text: string, keep = 60): string {
  if (text.length <= keep * 2) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, keep))}…<${text.length} chars>…${JSON.stringify(text.slice(-keep / 2))}`;
}
