// The local block cache shared by the library (Package.getBytes, download) and the FUSE
// daemon: one cache, one format. Objects are cut into fixed-size blocks kept as checked files
// (block-file.ts) in a data directory that several daemons may share, and counted in a
// per-daemon LMDB index (cache-index.ts) that holds the size limit with LRU eviction
// (block-store.ts, block-room.ts, eviction.ts).
//
// Integrity against the manifest (docs/RELIABILITY.md):
// - only bytes that matched their manifest hash are stored under an object's content key
//   (content-key.ts), the key every package, mount and version shares;
// - an object of at most wholeObjectBytes (one 8 MiB chunk) is fetched whole and hashed
//   before a byte is served or stored; so is each chunk of a larger object whose chunk
//   digests are known (chunk-digests.ts, chunk-loader.ts);
// - a larger object without digests streams by default, cached under its source only
//   (private-object.ts) and promoted to the content key once it matched whole; a mismatch
//   fails the read that completes it and every later read of that source. With `strict`
//   such an object is fetched and verified whole before its first byte.
import { QuiltError } from "../errors.js";
import type { ObjectSource } from "../storage/object-source.js";
import { removeOldLayouts } from "./block-file.js";
import { blockCount } from "./block-layout.js";
import { DEFAULTS, type BlockCacheOptions } from "./cache-options.js";
import { buildBlockCacheParts } from "./block-cache-parts.js";
import type { BlockStore } from "./block-store.js";
import type { CacheIndex } from "./cache-index.js";
import { openCacheDirs } from "./block-cache-open.js";
import { checkBlocksOnDisk } from "./block-disk-check.js";
import { InFlight } from "./in-flight.js";
import type { CachedObjectCheck, CachedObjectVerdict } from "./cached-object-check.js";
import type { ChunkLoader } from "./chunk-loader.js";
import type { FetchClaims } from "./fetch-claims.js";
import type { ObjectPresence } from "./object-presence.js";
import type { SpanReader } from "./span-reader.js";
import type { UnverifiedObjects } from "./unverified-objects.js";
import type { VerificationPlanner } from "./verification-plan.js";
import { newCounters, type CacheStats } from "./cache-stats.js";
import type { CacheObject } from "./content-key.js";
import { reconcile, type ReconcileResult } from "./reconcile.js";
import { readOpts, type ReadOptions, type ReadSource } from "./read-source.js";

export type { BlockFetcher } from "./block-loader.js";
export type { BlockCacheOptions } from "./cache-options.js";
export type { CachedObjectVerdict } from "./cached-object-check.js";
export type { ReadOptions, ReadSource } from "./read-source.js";

/** Access times reach LMDB once a second: LRU order needs no finer grain, and reads stay write-free. */
const ACCESS_FLUSH_MS = 1000;

export class BlockCache {
  readonly blockSize: number;
  readonly maxBytes: number;
  private readonly counters = newCounters();
  private readonly store: BlockStore;
  private readonly chunks: ChunkLoader;
  private readonly claims: FetchClaims | undefined;
  /** Objects up to this size are fetched and verified whole on their first read. */
  readonly wholeObjectBytes: number;
  private readonly fetchConcurrency: number;
  private readonly planner: VerificationPlanner;
  private readonly unverified: UnverifiedObjects;
  private readonly check: CachedObjectCheck;
  private readonly reader: SpanReader;
  private readonly presence: ObjectPresence;
  private readonly inFlight = new InFlight();
  private readonly stop = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private reconciling: Promise<ReconcileResult> | undefined;
  private closed = false;

  private constructor(
    private readonly index: CacheIndex,
    layout: string,
    opts: BlockCacheOptions,
    blockSize: number,
    localDisk: boolean,
  ) {
    this.blockSize = blockSize;
    this.maxBytes = opts.maxBytes;
    // Not reduced for a small cache: a whole object verified in memory is served even when
    // it cannot be kept, and streaming it unverified instead would break the promise.
    this.wholeObjectBytes = opts.wholeObjectBytes ?? DEFAULTS.wholeObjectBytes;
    this.fetchConcurrency = opts.fetchConcurrency ?? DEFAULTS.fetchConcurrency;
    ({
      store: this.store,
      chunks: this.chunks,
      claims: this.claims,
      planner: this.planner,
      unverified: this.unverified,
      check: this.check,
      reader: this.reader,
      presence: this.presence,
    } = buildBlockCacheParts({
      index,
      layout,
      opts,
      blockSize,
      localDisk,
      counters: this.counters,
      wholeObjectBytes: this.wholeObjectBytes,
      fetchConcurrency: this.fetchConcurrency,
      track: (op) => this.inFlight.track(op),
      checkOpen: () => this.checkOpen(),
    }));
    this.timer = setInterval(() => this.index.flushAccess(), ACCESS_FLUSH_MS);
    this.timer.unref();
  }

  static async open(opts: BlockCacheOptions): Promise<BlockCache> {
    const { index, layout, blockSize, needsReconcile, localDisk } = await openCacheDirs(opts);
    const cache = new BlockCache(index, layout, opts, blockSize, localDisk);
    cache.inFlight.track(() => removeOldLayouts(opts.dataDir, blockSize)).catch(() => undefined);
    // A daemon killed while it fetched left claims: gone now rather than at the next wait on them.
    if (cache.claims)
      cache.inFlight.track(() => (cache.claims as FetchClaims).sweep()).catch(() => undefined);
    const mode = opts.reconcile ?? DEFAULTS.reconcile;
    if (needsReconcile && mode !== "never") {
      const running = cache.reconcile();
      if (mode === "wait") await running;
      else running.catch(() => undefined);
    }
    return cache;
  }

  /**
   * Bytes [offset, offset + length) of `obj`, clamped at its end, from cached blocks and
   * fetches of the missing ones. The buffer is the caller's own.
   */
  read(
    obj: CacheObject,
    offset: number,
    length: number,
    src: ReadSource,
    opts?: ReadOptions | AbortSignal,
  ): Promise<Buffer> {
    return this.reader.read(obj, offset, length, src, readOpts(opts), true);
  }

  /**
   * Like read, but a range inside one block comes back as a view of the cache's own copy,
   * without a copy: the caller must not modify it. For the FUSE read path, which copies into
   * the kernel's buffer anyway; a copy per block there is a MiB of garbage per MiB read.
   */
  readView(
    obj: CacheObject,
    offset: number,
    length: number,
    src: ReadSource,
    opts?: ReadOptions | AbortSignal,
  ): Promise<Buffer> {
    return this.reader.read(obj, offset, length, src, readOpts(opts), false);
  }

  /** Makes blocks first..last (clamped to the object) cached, fetching what is missing (prefetch). */
  ensureBlocks(
    obj: CacheObject,
    firstBlock: number,
    lastBlock: number,
    src: ReadSource,
    opts?: ReadOptions | AbortSignal,
  ): Promise<void> {
    return this.reader.ensureBlocks(obj, firstBlock, lastBlock, src, readOpts(opts));
  }

  /**
   * Makes `obj` verified in the cache, fetching what is missing: every chunk of an object
   * with digests, or the whole object otherwise. Throws on a mismatch, or when the object
   * cannot be held whole to verify it.
   */
  async ensureVerified(
    obj: CacheObject,
    src: ReadSource,
    opts: { signal?: AbortSignal } = {},
  ): Promise<void> {
    await this.ensureBlocks(obj, 0, blockCount(obj.size, this.blockSize) - 1, src, { ...opts, strict: true });
  }

  /** Keeps blocks first..last of `obj` from eviction until the returned function is called. */
  pinBlocks(obj: CacheObject, first: number, last: number): () => void {
    return this.store.pins.pinBlocks(obj.key, first, last);
  }

  hasBlock(obj: CacheObject, index: number): boolean {
    return this.store.inIndex(obj, index);
  }

  /** Every block is cached under the content key, so verified (as far as this daemon's index knows). */
  isComplete(obj: CacheObject): boolean {
    return this.presence.isComplete(obj);
  }

  /**
   * Every block is cached: listed by this index, or on disk where another index (a daemon, a
   * node sharing the data directory, `quilt cache prefetch`) put it, provided the blocks can
   * be verified without the source (small object, or known chunk digests), as a read then
   * hashes them before use. Lets an install copy out of a shared cache instead of downloading.
   */
  async holdsWhole(obj: CacheObject): Promise<boolean> {
    this.checkOpen();
    return this.presence.holdsWhole(obj);
  }

  /** Some source of the object failed its whole-object hash: readers must not serve what they hold of it. */
  hasFailed(obj: CacheObject): boolean {
    return this.unverified.hasFailed(obj);
  }

  /** Whether chunk digests are known, so any part of the object can be verified on its own. */
  hasDigests(obj: CacheObject): boolean {
    return this.planner.knownDigests(obj) !== undefined;
  }

  /** Changes whenever a block is cached or dropped: counts over objectState stay valid while it does not. */
  get presenceChanges(): number {
    return this.index.presenceChanges;
  }

  /** Blocks cached and whether the object was verified, for `quilt mounts` and status. */
  objectState(obj: CacheObject): { blocks: number; present: number; verified: boolean } {
    return this.presence.objectState(obj);
  }

  /**
   * Hashes the cached object against its manifest hash. "incomplete": some block is not
   * cached; "evicted": it did not match and was deleted. `force` re-reads every block from
   * disk even when the object was verified before.
   */
  async verifyObject(obj: CacheObject, opts: { force?: boolean } = {}): Promise<CachedObjectVerdict> {
    this.checkOpen();
    return this.check.verify(obj, opts);
  }

  /** Re-reads every indexed block from disk; bad or missing ones are removed so a refetch repairs them. */
  async checkBlocks(obj: CacheObject): Promise<{ ok: number; bad: number; missing: number }> {
    this.checkOpen();
    return this.inFlight.track(() =>
      checkBlocksOnDisk(this.store, this.counters, obj, this.fetchConcurrency),
    );
  }

  /**
   * Forgets the object: its shared blocks, any source's failed verdict, and what `src` said
   * of it (force-match fetches it again, and the remote may have been fixed since).
   */
  async evictObject(obj: CacheObject, src?: ObjectSource): Promise<void> {
    this.checkOpen();
    this.unverified.forgive(obj);
    if (src) this.planner.forgetSource(src);
    this.chunks.forget(obj.key);
    await this.inFlight.track(() => this.store.dropObject(obj));
  }

  /**
   * Deletes the blocks this cache fetched and empties its index (blocks it only adopted
   * from the data directory are other writers': forgotten, not deleted). With `all`, every
   * block of the data directory, including those of other daemons sharing it.
   */
  async clear(opts: { all?: boolean } = {}): Promise<void> {
    this.checkOpen();
    this.unverified.clear();
    this.planner.clear();
    this.chunks.forgetAll();
    await this.inFlight.track(() => this.store.clear(opts));
  }

  /**
   * Deletes the private copies of processes gone (a crashed or stopped daemon's partly read
   * objects), which would otherwise hold room until evicted. Only for an index no other live
   * process uses: the daemon calls it once it holds its state directory.
   */
  dropOrphanPrivateCopies(): Promise<number> {
    this.checkOpen();
    return this.inFlight.track(() => this.store.dropOrphanPrivateCopies());
  }

  /** Adopts block files the index does not know (runs at open when needed; joins a running scan). */
  reconcile(): Promise<ReconcileResult> {
    this.checkOpen();
    this.reconciling ??= this.inFlight
      .track(async () => {
        const result = await reconcile(this.store.layout, this.index, this.blockSize, this.stop.signal);
        await this.store.settleLimit();
        return result;
      })
      .finally(() => (this.reconciling = undefined));
    return this.reconciling;
  }

  /** Resolves when no read, verification or promotion is running (tests, benchmarks, close). */
  idle(): Promise<void> {
    return this.inFlight.idle();
  }

  stats(): CacheStats {
    return { ...this.counters, ...this.index.totals(), maxBytes: this.maxBytes, blockSize: this.blockSize };
  }

  /** Waits for reads and writes in flight, flushes access times, closes the index. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.stop.abort();
    await this.inFlight.idle();
    await this.store.drain();
    await this.index.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new QuiltError("EUSAGE", "the block cache is closed");
  }
}
