// Gets a span of an object's blocks: from the store when cached, otherwise from the caller's
// fetcher. Two rules keep the number of requests down:
// - a run of consecutive missing blocks is one ranged fetch (split at maxFetchBytes), not one
//   request per block;
// - single flight: a block being fetched is registered before the request starts, and every
//   other reader of that block waits on that request instead of making its own.
import { QuiltError } from "../errors.js";
import { blockCount, blockRange, toRuns } from "./block-layout.js";
import type { BlockStore } from "./block-store.js";
import type { CacheCounters } from "./cache-stats.js";
import type { CacheObject } from "./content-key.js";
import type { Limiter } from "../limiter.js";
import type { ByteRange } from "../storage/object-store.js";

/** Fetches bytes [start, end) of the object (a pinned ranged GET); the cache knows nothing of S3. */
export type BlockFetcher = (range: ByteRange, signal?: AbortSignal) => Promise<Buffer>;

interface InFlight {
  promise: Promise<Buffer>;
  /** The signal of the reader that started the request: its abort is not the waiters' failure. */
  signal: AbortSignal | undefined;
}

export interface LoadedSpan {
  /** Block data for first..last (undefined entries only when `want` was false). */
  data: (Buffer | undefined)[];
  /** How each entry was obtained: from the cache (memory or disk), by joining a fetch in flight, or by fetching. */
  source: ("cached" | "joined" | "fetched")[];
}

/** A waiter whose request was aborted by another reader starts over (bounded, in case of a storm). */
const MAX_ABORT_RETRIES = 3;

class StartedElsewhereAborted extends Error {}

export class BlockLoader {
  private readonly fetching = new Map<string, InFlight>();

  constructor(
    private readonly store: BlockStore,
    private readonly counters: CacheCounters,
    private readonly maxFetchBlocks: number,
  ) {}

  /**
   * Blocks first..last of `obj`. With `want` false (prefetch), blocks the index lists are not
   * read, only missing ones are fetched and stored.
   */
  async load(
    obj: CacheObject,
    first: number,
    last: number,
    fetch: BlockFetcher,
    limit: Limiter,
    signal: AbortSignal | undefined,
    want: boolean,
  ): Promise<LoadedSpan> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.loadOnce(obj, first, last, fetch, limit, signal, want);
      } catch (err) {
        if (!(err instanceof StartedElsewhereAborted) || attempt >= MAX_ABORT_RETRIES)
          throw err instanceof StartedElsewhereAborted ? err.cause : err;
      }
    }
  }

  private async loadOnce(
    obj: CacheObject,
    first: number,
    last: number,
    fetch: BlockFetcher,
    limit: Limiter,
    signal: AbortSignal | undefined,
    want: boolean,
  ): Promise<LoadedSpan> {
    const n = last - first + 1;
    const data = new Array<Buffer | undefined>(n);
    const source = new Array<"cached" | "joined" | "fetched">(n).fill("fetched");
    const missing: number[] = [];
    const waits: Promise<void>[] = [];
    const waitFor = (i: number, inflight: InFlight) =>
      inflight.promise.then(
        (b) => {
          data[i - first] = b;
          source[i - first] = "joined";
        },
        (err: unknown) => {
          throw inflight.signal?.aborted && !signal?.aborted
            ? new StartedElsewhereAborted("aborted by another reader", { cause: err })
            : err;
        },
      );
    await Promise.all(
      Array.from({ length: n }, async (_, k) => {
        const i = first + k;
        const inflight = this.fetching.get(`${obj.key}/${i}`);
        if (inflight) return waitFor(i, inflight);
        if (!want && this.store.inIndex(obj, i)) return;
        const block = await this.store.local(obj, i);
        if (block) {
          data[k] = block;
          source[k] = "cached";
        } else {
          missing.push(i);
        }
      }),
    );
    // Someone may have started fetching a block while we looked on disk: wait for theirs.
    const toFetch: number[] = [];
    for (const i of missing.sort((a, b) => a - b)) {
      const inflight = this.fetching.get(`${obj.key}/${i}`);
      if (inflight) waits.push(waitFor(i, inflight));
      else toFetch.push(i);
    }
    const runs = toRuns(toFetch, this.maxFetchBlocks).map(([a, b]) =>
      this.startRun(obj, a, b, fetch, limit, signal).then((blocks) =>
        blocks.forEach((block, k) => (data[a - first + k] = block)),
      ),
    );
    await Promise.all([...waits, ...runs]);
    return { data, source };
  }

  /** Registers blocks a..b as in flight (synchronously, before any await), fetches them in one request, stores them. */
  private async startRun(
    obj: CacheObject,
    a: number,
    b: number,
    fetch: BlockFetcher,
    limit: Limiter,
    signal: AbortSignal | undefined,
  ): Promise<Buffer[]> {
    const bs = this.store.blockSize;
    const settle: { resolve: (b: Buffer) => void; reject: (e: unknown) => void; promise: Promise<Buffer> }[] =
      [];
    for (let i = a; i <= b; i++) {
      let resolve!: (b: Buffer) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<Buffer>((res, rej) => ((resolve = res), (reject = rej)));
      promise.catch(() => undefined); // nobody may be waiting; the starter gets the error itself
      settle.push({ resolve, reject, promise });
      this.fetching.set(`${obj.key}/${i}`, { promise, signal });
    }
    try {
      const start = a * bs;
      const end = blockRange(b, obj.size, bs).end;
      const bytes = await limit.run(() => this.fetchRange(fetch, start, end, signal));
      this.counters.misses += b - a + 1;
      const blocks = settle.map((s, k) => {
        const data = bytes.subarray(k * bs, Math.min(bytes.length, (k + 1) * bs));
        s.resolve(data);
        return { index: a + k, data };
      });
      await this.store.store(obj, blocks);
      return blocks.map((blk) => blk.data);
    } catch (err) {
      for (const s of settle) s.reject(err);
      throw err;
    } finally {
      for (let i = a; i <= b; i++) {
        const id = `${obj.key}/${i}`;
        if (this.fetching.get(id)?.promise === settle[i - a]?.promise) this.fetching.delete(id);
      }
    }
  }

  /** One request, counted, with its length checked: a short body must never be cut into blocks. */
  async fetchRange(
    fetch: BlockFetcher,
    start: number,
    end: number,
    signal: AbortSignal | undefined,
  ): Promise<Buffer> {
    this.counters.fetchRequests++;
    const bytes = await fetch({ start, end }, signal);
    this.counters.bytesFetched += bytes.length;
    if (bytes.length !== end - start) {
      throw new QuiltError("ESTORAGE", `fetch of bytes [${start}, ${end}) returned ${bytes.length} bytes`);
    }
    return bytes;
  }

  /** Number of blocks of `obj` (exposed so callers share one definition). */
  count(obj: CacheObject): number {
    return blockCount(obj.size, this.store.blockSize);
  }
}
