// A counting semaphore for fetches: a large ensureBlocks or a prefetch window is split into
// many ranged requests, and letting all of them start at once would queue hundreds of
// sockets behind each other and hold their buffers in memory for no gain in throughput.

export type Limiter = <T>(task: () => Promise<T>) => Promise<T>;

export function limiter(concurrency: number): Limiter {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= concurrency) {
      // The slot is handed over by the task that finishes, so `active` never exceeds the limit.
      await new Promise<void>((resolve) => waiting.push(resolve));
    } else {
      active++;
    }
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}
