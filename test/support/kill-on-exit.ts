import type { ChildProcess } from 'node:child_process';

/**
 * Children still running, killed if this process exits first (a suite that failed to clean up). The same
 * idea as bench/kill-on-exit.ts, for tests, which do not import from bench/.
 */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Kills `child` with this process if it is still running then. */
export function killOnExit(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
}
