/**
 * `stream`, calling `release` once it is over: ended, returned (`break`, `return()`) or thrown into.
 * Unlike a `finally` inside the generator, this also holds for a stream returned before its first read,
 * which an async generator completes without running any of its body.
 */
export function ownedStream<T>(
  stream: AsyncGenerator<T, void, undefined>,
  release: () => Promise<void>,
): AsyncGenerator<T, void, undefined> {
  let released: Promise<void> | undefined;
  const releaseOnce = (): Promise<void> => (released ??= release());
  const owned = {
    async next() {
      const result = await stream.next();
      if (result.done === true) await releaseOnce();
      return result;
    },
    async return(value: void | PromiseLike<void>) {
      try {
        return await stream.return(value);
      } finally {
        await releaseOnce();
      }
    },
    async throw(error: unknown) {
      try {
        return await stream.throw(error);
      } finally {
        await releaseOnce();
      }
    },
    [Symbol.asyncIterator]() {
      return owned;
    },
  } as AsyncGenerator<T, void, undefined>;
  // `await using` support where the runtime has it, without requiring the disposable lib to compile.
  const asyncDispose = (Symbol as { asyncDispose?: symbol }).asyncDispose;
  if (asyncDispose !== undefined) {
    (owned as unknown as Record<symbol, () => Promise<unknown>>)[asyncDispose] = () => owned.return(undefined);
  }
  return owned;
}
