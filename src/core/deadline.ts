/**
 * `work`, or, when it has not settled within `milliseconds`, a rejection with `timedOut()`. The work goes
 * on (it cannot be recalled): its outcome is unknown to the caller, which the error should say.
 */
export function withDeadline<T>(work: Promise<T>, milliseconds: number, timedOut: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut()), milliseconds);
    timer.unref();
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
