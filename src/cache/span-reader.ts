// Serving a byte range of an object from its blocks: check and clamp the range, pin the
// blocks it covers, load them by the object's verification plan (chunks with known digests,
// or the private path of an object verified whole), copy the range out (or hand back a view
// of one block) and count where each block came from. Separate from BlockCache, which owns
// the cache's lifecycle and its per-object operations.
import { QuiltError } from "../errors.js";
import { Limiter } from "../limiter.js";
import { blockCount } from "./block-layout.js";
import type { ObjectSource } from "../storage/object-source.js";
import type { LoadedSpan } from "./block-loader.js";
import type { BlockStore } from "./block-store.js";
import type { CacheIndex } from "./cache-index.js";
import type { CacheCounters } from "./cache-stats.js";
import type { ChunkLoader } from "./chunk-loader.js";
import { checkSize, type CacheObject } from "./content-key.js";
import { asSource, type ReadOptions, type ReadSource } from "./read-source.js";
import { tooLarge, type UnverifiedObjects } from "./unverified-objects.js";
import type { VerificationPlanner } from "./verification-plan.js";

export interface SpanReaderParts {
  store: BlockStore;
  index: CacheIndex;
  counters: CacheCounters;
  planner: VerificationPlanner;
  unverified: UnverifiedObjects;
  chunks: ChunkLoader;
  blockSize: number;
  fetchConcurrency: number;
  /** Registers the work so that closing the cache waits for it. */
  track: <T>(op: () => Promise<T>) => Promise<T>;
  /** Throws once the cache is closed: a read or prefetch then fails (rejects) at once. */
  checkOpen: () => void;
}

export class SpanReader {
  constructor(private readonly p: SpanReaderParts) {}

  /** Bytes [offset, offset + length) of `obj`, clamped at its end (BlockCache.read, readView). */
  async read(
    obj: CacheObject,
    offset: number,
    length: number,
    src: ReadSource,
    opts: ReadOptions,
    copy: boolean,
  ): Promise<Buffer> {
    this.p.checkOpen();
    checkSize(obj.size);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new QuiltError("EUSAGE", `invalid read of ${length} bytes at ${offset}`);
    }
    const start = Math.min(offset, obj.size);
    const end = Math.min(obj.size, start + length);
    if (end <= start) return Buffer.alloc(0);
    return this.p.track(() => this.range(obj, start, end, asSource(src), opts, copy));
  }

  /** Makes blocks first..last (clamped to the object) cached, fetching what is missing (BlockCache.ensureBlocks). */
  async ensureBlocks(
    obj: CacheObject,
    firstBlock: number,
    lastBlock: number,
    src: ReadSource,
    opts: ReadOptions,
  ): Promise<void> {
    this.p.checkOpen();
    const last = Math.min(lastBlock, blockCount(obj.size, this.p.blockSize) - 1);
    const first = Math.max(0, firstBlock);
    if (first > last) return;
    await this.p.track(() => this.ensure(obj, first, last, asSource(src), opts));
  }

  /**
   * Bytes [start, end) of `obj` (already clamped, non-empty). With `copy` false, a range
   * inside one block is a view of the cache's own copy.
   */
  private async range(
    obj: CacheObject,
    start: number,
    end: number,
    src: ObjectSource,
    opts: ReadOptions,
    copy: boolean,
  ): Promise<Buffer> {
    const bs = this.p.blockSize;
    const first = Math.floor(start / bs);
    const last = Math.floor((end - 1) / bs);
    const release = this.p.store.pins.pinBlocks(obj.key, first, last);
    try {
      const span = await this.loadSpan(obj, first, last, src, opts, true);
      if (!copy && first === last) {
        this.countSpan(span.source[0], end - start);
        this.p.index.touch(obj.key, Date.now());
        return (span.data[0] as Buffer).subarray(start - first * bs, end - first * bs);
      }
      const out = Buffer.allocUnsafe(end - start);
      span.data.forEach((block, k) => {
        const blockStart = (first + k) * bs;
        const from = Math.max(start, blockStart) - blockStart;
        const to = Math.min(end, blockStart + bs) - blockStart;
        (block as Buffer).copy(out, blockStart + from - start, from, to);
        this.countSpan(span.source[k], to - from);
      });
      this.p.index.touch(obj.key, Date.now());
      return out;
    } finally {
      release();
    }
  }

  /** Makes blocks first..last (already clamped, non-empty) cached, fetching what is missing. */
  private async ensure(
    obj: CacheObject,
    first: number,
    last: number,
    src: ObjectSource,
    opts: ReadOptions,
  ): Promise<void> {
    await this.loadSpan(obj, first, last, src, opts, false);
    this.p.index.touch(obj.key, Date.now());
  }

  /** The blocks of a span, by the object's verification plan. */
  private async loadSpan(
    obj: CacheObject,
    first: number,
    last: number,
    src: ObjectSource,
    opts: ReadOptions,
    want: boolean,
  ): Promise<LoadedSpan> {
    const limit = new Limiter(this.p.fetchConcurrency);
    let plan = await this.p.planner.plan(obj, src);
    if (plan.kind === "private" && opts.strict) {
      await this.p.unverified.loadWhole(obj, plan.priv, plan.fetch, limit, opts.signal);
      plan = await this.p.planner.plan(obj, src);
      // Judged only when every block could be kept: other pinned objects may have left no room.
      if (plan.kind === "private")
        throw tooLarge(obj, "the cache had no room to hold it whole next to the objects in use");
    }
    // Its blocks are on their way to the content key: wait rather than fetch them again.
    await this.p.unverified.promoted(obj);
    if (plan.kind === "verified")
      return this.p.chunks.load(obj, first, last, plan.v, plan.fetch, limit, opts.signal, want);
    const span = await this.p.unverified.load(
      obj,
      plan.priv,
      first,
      last,
      plan.fetch,
      limit,
      opts.signal,
      want,
    );
    if (want) opts.onUnverified?.();
    return span;
  }

  /** Counts a block a read was served from: a hit, or a fetch it joined. */
  private countSpan(source: string | undefined, bytes: number): void {
    if (source === "cached") {
      this.p.counters.hits++;
      this.p.counters.bytesFromCache += bytes;
    } else if (source === "joined") {
      this.p.counters.joinedFetches++;
    }
  }
}
