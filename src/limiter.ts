// The one way work is bounded here: a Limiter is a counting semaphore (fetches, part
// uploads, disk checks: never more than the link, the server or the disk can take at once,
// and one limiter shared by file-level and part-level work keeps nested parallelism from
// multiplying into thousands of sockets); forEachLimited runs a function over many items
// with a fixed number of workers (files of a push, a download, a prefetch).

export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly max: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) {
      // The slot is handed over by the task that finishes, so `active` never exceeds the limit.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/**
 * Runs `fn` over `items` with at most `concurrency` at once. After a failure no new item
 * starts; it rejects with the first failure once the work already started has settled.
 */
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
