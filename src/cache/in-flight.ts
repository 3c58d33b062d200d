// The work a block cache has under way (reads, fetches joined, verifications, promotions,
// background sweeps), so that close() waits for all of it before the index closes, and tests
// and benchmarks can wait until nothing runs. Separate from BlockCache: every part that
// starts work of its own registers it through track().
export class InFlight {
  private readonly active = new Set<Promise<unknown>>();

  /** Runs `op` and keeps its promise until it settles. */
  track<T>(op: () => Promise<T>): Promise<T> {
    const p = op();
    this.active.add(p);
    const done = () => this.active.delete(p);
    p.then(done, done);
    return p;
  }

  /** Resolves when nothing tracked is running, including work started while it waits. */
  async idle(): Promise<void> {
    while (this.active.size > 0) await Promise.allSettled([...this.active]);
  }
}
