// A counting semaphore: transfers run in parallel, but never more than the link or the
// server can take at once. Shared by file-level and part-level work so nested parallelism
// cannot multiply into thousands of sockets.
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly max: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/** Runs `fn` over `items` with at most `concurrency` at once; rejects on the first failure after all started work settles. */
export async function forEachLimited<T>(items: Iterable<T>, concurrency: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
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
