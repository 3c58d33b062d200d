// A counting semaphore: transfers run in parallel, but never more than the link or the
// server can take at once. Shared by file-level and part-level work so nested parallelism
// cannot multiply into thousands of sockets.
import { limiter } from "../cache/limiter.js";

export class Limiter {
  // The cache's semaphore hands a slot straight to the next waiter, so the limit holds exactly.
  private readonly gate: ReturnType<typeof limiter>;

  constructor(readonly max: number) {
    this.gate = limiter(max);
  }

  run<T>(fn: () => Promise<T>): Promise<T> {
    return this.gate(fn);
  }
}

/** Runs `fn` over `items` with at most `concurrency` at once; rejects on the first failure after all started work settles. */
export async function forEachLimited<T>(
  items: Iterable<T>,
  concurrency: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  const it = items[Symbol.iterator]();
  let index = 0;
  let failure: { err: unknown } | undefined;
  const worker = async (): Promise<void> => {
    for (;;) {
      if (failure) return;
      const next = it.next();
      if (next.done) return;
      const i = index++;
      try {
        await fn(next.value, i);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  if (failure) throw failure.err;
}
