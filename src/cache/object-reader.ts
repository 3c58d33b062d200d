// One per open file handle of the FUSE daemon: serves reads from the block cache and, when
// the reads are sequential, prefetches ahead so the reader finds its next bytes cached.
//
// Like mountpoint-s3's prefetcher: the window starts at 1 MiB + 128 KiB (one block plus one
// FUSE read, so the second read is already covered) and doubles each time the reader has
// consumed half of what was requested, up to a cap. Each window is split into part-sized
// ranged fetches that run in parallel, because one S3 connection tops out far below the link.
// A read that is not sequential resets the window and fetches only the blocks it needs, so
// random readers (4 KiB lookups into a large file) do not pay for bytes they never read.
//
// The blocks between the read position and the end of the prefetch are pinned, so eviction
// in a cache smaller than the file takes blocks already read rather than blocks about to be.
//
// One exception to "random reads fetch only what they touch": an object with no chunk
// digests can only be verified whole (docs/RELIABILITY.md), so its verification unit is the
// object. Read at random, it is filled in the background, part by part in order, with each
// byte fetched once: its random reads stop waiting on S3 one block at a time, and the
// unverified bytes they were served are judged as soon as the object is complete. Objects
// larger than a quarter of the cache are not filled (they would evict the rest).
import { log } from "../log.js";
import type { BlockCache, ReadSource } from "./block-cache.js";
import type { CacheObject } from "./content-key.js";
import { Limiter } from "../limiter.js";

export interface ObjectReaderOptions {
  /** First prefetch window in bytes (default 1 MiB + 128 KiB). */
  initialWindowBytes?: number;
  /** Largest prefetch window in bytes (default 64 MiB, and at most a quarter of the cache). */
  maxWindowBytes?: number;
  /** Bytes per prefetch request (default 8 MiB, block-aligned). */
  partBytes?: number;
  /** Prefetch requests in flight for this handle (default 8). */
  maxParallel?: number;
  /** Serve no unverified byte (see BlockCache's ReadOptions). */
  strict?: boolean;
  /** Called when a read served bytes not verified yet. */
  onUnverified?: () => void;
  /**
   * Largest object filled in the background when read at random and verifiable only whole
   * (default a quarter of the cache; 0 never fills).
   */
  fillMaxBytes?: number;
}

/** mountpoint-s3's first request size: one 1 MiB block plus one 128 KiB FUSE read. */
const INITIAL_WINDOW_BYTES = 1024 * 1024 + 128 * 1024;
/**
 * 64 MiB ahead: with 8 parallel 8 MiB requests at ~100 MB/s each that is ~80 ms of reading,
 * more than S3's first-byte latency, so a sequential reader never waits. mountpoint-s3 goes to
 * 2 GiB because its window is an in-memory queue with a memory limiter; ours lands in the disk
 * cache and competes with everything else for its limit, and is wasted if the reader stops.
 */
const MAX_WINDOW_BYTES = 64 * 1024 * 1024;
const PART_BYTES = 8 * 1024 * 1024;
const MAX_PARALLEL = 8;
/**
 * Whole blocks held per handle: the one being read and the next, which the kernel's
 * readahead already asks for. More would cost a MiB per block per open file.
 */
const HELD_BLOCKS = 2;
/**
 * Cached blocks loaded ahead of a sequential reader: 4 MiB, enough to keep the disk and the
 * checksum ahead of the kernel's requests, at 4 MiB of memory per open file at most.
 */
const READ_AHEAD_BLOCKS = 4;
/** A read starting up to 1 MiB before the previous end still counts as sequential (kernel readahead reorders a little). */
const BACKWARD_SLACK_BYTES = 1024 * 1024;

export class ObjectReader {
  private readonly initialWindow: number;
  private readonly maxWindow: number;
  private readonly partBlocks: number;
  private readonly limit: Limiter;
  private readonly strict: boolean;
  private readonly onUnverified: (() => void) | undefined;
  private readonly fillMaxBytes: number;
  private filling = false;
  private readonly abort = new AbortController();
  private readonly prefetches = new Set<Promise<void>>();
  private window: number;
  /** Where the next sequential read starts; -1 before the first read. */
  private nextOffset = -1;
  /** Bytes below this offset have been requested by prefetch (exclusive). */
  private prefetchedTo = 0;
  private unpin: (() => void) | undefined;
  private closed = false;
  /**
   * The last whole blocks read through this handle (checked when they were loaded), as
   * promises so that the kernel's parallel 128 KiB reads of one block share one load.
   */
  private readonly held = new Map<number, Promise<Buffer>>();
  /** The span pinned now, so a read within it does not pin it again. */
  private pinned: { first: number; last: number } | undefined;

  constructor(
    private readonly cache: BlockCache,
    readonly obj: CacheObject,
    private readonly fetch: ReadSource,
    opts: ObjectReaderOptions = {},
  ) {
    this.strict = opts.strict === true;
    this.onUnverified = opts.onUnverified;
    this.initialWindow = opts.initialWindowBytes ?? INITIAL_WINDOW_BYTES;
    this.maxWindow = Math.max(
      this.initialWindow,
      Math.min(opts.maxWindowBytes ?? MAX_WINDOW_BYTES, Math.floor(cache.maxBytes / 4)),
    );
    this.partBlocks = Math.max(1, Math.floor((opts.partBytes ?? PART_BYTES) / cache.blockSize));
    this.limit = new Limiter(opts.maxParallel ?? MAX_PARALLEL);
    this.window = this.initialWindow;
    this.fillMaxBytes = opts.fillMaxBytes ?? Math.floor(cache.maxBytes / 4);
  }

  async read(offset: number, length: number, signal?: AbortSignal): Promise<Buffer> {
    const end = Math.min(this.obj.size, offset + length);
    const sequential =
      this.nextOffset < 0
        ? offset === 0
        : offset >= this.nextOffset - BACKWARD_SLACK_BYTES &&
          offset <= Math.max(this.nextOffset, this.prefetchedTo);
    this.nextOffset = Math.max(end, offset);
    if (!sequential) {
      this.window = this.initialWindow;
      this.prefetchedTo = 0;
    } else if (end < this.obj.size) {
      this.prefetchAhead(end);
    }
    this.repin(offset);
    // The kernel reads 128 KiB at a time, several in parallel: hold the blocks being read, so
    // a sequential reader loads and checks each block once instead of once per 128 KiB.
    const bs = this.cache.blockSize;
    const block = Math.floor(offset / bs);
    if (end > offset && Math.floor((end - 1) / bs) === block) {
      const start = block * bs;
      const load = this.heldBlock(block, start, Math.min(bs, this.obj.size - start), signal);
      if (sequential) this.readAheadCached(block);
      const data = await load;
      // A block held from before a failed verification is not served after it.
      if (this.cache.hasFailed(this.obj)) {
        this.held.clear();
        return this.cache.read(this.obj, offset, length, this.fetch, this.readOptions(signal));
      }
      if (!sequential) this.fillIfWholeOnly();
      return data.subarray(offset - start, end - start);
    }
    const data = await this.cache.read(this.obj, offset, length, this.fetch, this.readOptions(signal));
    if (!sequential) this.fillIfWholeOnly();
    return data;
  }

  /**
   * After a random read (the object's verification plan is known by then): an object that
   * can only be verified whole is fetched whole in the background, once per handle, in parts
   * queued in order on this handle's limiter. A part's blocks are claimed only when it starts,
   * so a random read of a block further on fetches that block at once rather than waiting its
   * turn, and the part then skips it.
   */
  private fillIfWholeOnly(): void {
    // A small object is fetched whole by its first read already.
    if (
      this.filling ||
      this.closed ||
      this.strict ||
      this.obj.size > this.fillMaxBytes ||
      this.obj.size <= this.cache.wholeObjectBytes
    )
      return;
    if (this.cache.isComplete(this.obj) || this.cache.hasFailed(this.obj) || this.cache.hasDigests(this.obj))
      return;
    this.filling = true;
    const count = Math.ceil(this.obj.size / this.cache.blockSize);
    for (let first = 0; first < count; first += this.partBlocks) {
      const last = Math.min(count - 1, first + this.partBlocks - 1);
      this.startPart(first, last, "fill failed");
    }
  }

  /**
   * Starts loading the next blocks a sequential reader will ask for, when they are in the
   * cache already: the kernel asks for 128 KiB at a time, one request after the other, so
   * without this every block boundary waits for a disk read and a checksum. Blocks not cached
   * are left to the prefetch, which fetches them in long ranges.
   */
  private readAheadCached(block: number): void {
    const bs = this.cache.blockSize;
    for (let b = block + 1; b <= block + READ_AHEAD_BLOCKS && b * bs < this.obj.size; b++) {
      if (this.held.has(b) || !this.cache.hasBlock(this.obj, b)) continue;
      this.heldBlock(b, b * bs, Math.min(bs, this.obj.size - b * bs), undefined).catch(() => undefined);
    }
  }

  private heldBlock(
    block: number,
    start: number,
    length: number,
    signal: AbortSignal | undefined,
  ): Promise<Buffer> {
    let load = this.held.get(block);
    if (load === undefined) {
      // A view of the cache's copy: this reader only ever copies out of it.
      load = this.cache.readView(this.obj, start, length, this.fetch, this.readOptions(signal));
      const mine = load;
      this.held.set(block, mine);
      // A failed load is not kept, and neither is anything else held: the failure may be the
      // object failing its hash, and held blocks must not outlive that verdict.
      mine.catch(() => this.held.clear());
      for (const old of this.held.keys()) {
        if (this.held.size <= HELD_BLOCKS + READ_AHEAD_BLOCKS) break;
        this.held.delete(old);
      }
    }
    return load;
  }

  private readOptions(signal: AbortSignal | undefined) {
    return {
      ...(signal !== undefined && { signal }),
      strict: this.strict,
      ...(this.onUnverified !== undefined && { onUnverified: this.onUnverified }),
    };
  }

  /** Stops prefetching and waits for requests in flight to settle. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.held.clear();
    this.abort.abort();
    while (this.prefetches.size > 0) await Promise.allSettled([...this.prefetches]);
    this.unpin?.();
    this.unpin = undefined;
    this.pinned = undefined;
  }

  /** Current prefetch window in bytes (for tests and stats). */
  get windowBytes(): number {
    return this.window;
  }

  private prefetchAhead(readEnd: number): void {
    if (this.closed || this.prefetchedTo - readEnd >= this.window / 2) return;
    const from = Math.max(this.prefetchedTo, readEnd);
    const to = Math.min(this.obj.size, readEnd + this.window);
    this.window = Math.min(this.window * 2, this.maxWindow);
    if (from >= to) return;
    this.prefetchedTo = to;
    const bs = this.cache.blockSize;
    const lastBlock = Math.floor((to - 1) / bs);
    for (let first = Math.floor(from / bs); first <= lastBlock; first += this.partBlocks) {
      this.startPart(first, Math.min(lastBlock, first + this.partBlocks - 1), "prefetch failed");
    }
  }

  /** Queues blocks first..last to be made cached, in the background of this handle. */
  private startPart(first: number, last: number, what: string): void {
    const part = this.limit
      .run(() =>
        this.closed
          ? Promise.resolve()
          : this.cache.ensureBlocks(this.obj, first, last, this.fetch, {
              signal: this.abort.signal,
              strict: this.strict,
            }),
      )
      .catch((err: unknown) => {
        // The read path fetches whatever a failed prefetch left missing, and reports errors itself.
        if (!this.closed) log().debug({ err, key: this.obj.key, first, last }, what);
      })
      .finally(() => this.prefetches.delete(part));
    this.prefetches.add(part);
  }

  /** Pins the blocks from the read position to the end of the prefetch window. */
  private repin(offset: number): void {
    const bs = this.cache.blockSize;
    const first = Math.floor(offset / bs);
    const last = Math.floor((Math.max(offset + 1, this.prefetchedTo) - 1) / bs);
    if (this.pinned?.first === first && this.pinned.last === last) return;
    this.pinned = { first, last };
    const release = this.unpin;
    this.unpin = this.cache.pinBlocks(this.obj, first, last);
    release?.();
  }
}
