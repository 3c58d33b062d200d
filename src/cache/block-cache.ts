// The local block cache shared by the library (Package.getBytes, download) and the FUSE
// daemon: one cache, one format. Objects are identified by content (content-key.ts), cut into
// fixed-size blocks kept as checked files (block-file.ts) in a data directory that several
// daemons may share, and counted in a per-daemon LMDB index (cache-index.ts) that holds the
// size limit with LRU eviction (block-store.ts, eviction.ts).
//
// Integrity against the manifest:
// - an object of at most wholeObjectBytes is fetched whole, hashed, and only then stored and
//   served: a wrong byte is never served and never kept;
// - a larger object is served block by block (each block checked on every disk read); when its
//   last block arrives the whole object is hashed, and a mismatch evicts it, fails that read
//   with EHASHMISMATCH and marks the object suspect: later reads in this process must then
//   fetch and verify it whole before anything is served.
import { mkdir } from "node:fs/promises";
import { QuiltError } from "../errors.js";
import { assertHashType } from "../manifest/checksums.js";
import { assertChecksumSupport, layoutDir } from "./block-file.js";
import { blockCount, checkBlockSize, DEFAULT_BLOCK_BYTES } from "./block-layout.js";
import { DEFAULTS, type BlockCacheOptions } from "./cache-options.js";
import { BlockLoader, type BlockFetcher } from "./block-loader.js";
import { BlockStore } from "./block-store.js";
import { assertLocalDisk, CacheIndex } from "./cache-index.js";
import { newCounters, type CacheStats } from "./cache-stats.js";
import { checkSize, type CacheObject } from "./content-key.js";
import { limiter } from "./limiter.js";
import { reconcile, type ReconcileResult } from "./reconcile.js";
import { bytesMatch, canVerify, hashCachedObject } from "./verify-object.js";

export type { BlockFetcher } from "./block-loader.js";
export type { BlockCacheOptions } from "./cache-options.js";
export type VerifyResult = "ok" | "evicted" | "incomplete";

/** Access times reach LMDB once a second: LRU order needs no finer grain, and reads stay write-free. */
const ACCESS_FLUSH_MS = 1000;

export class BlockCache {
  readonly blockSize: number;
  readonly maxBytes: number;
  private readonly counters = newCounters();
  private readonly store: BlockStore;
  private readonly loader: BlockLoader;
  private readonly wholeObjectBytes: number;
  private readonly fetchConcurrency: number;
  private readonly wholes = new Map<string, { promise: Promise<Buffer | undefined>; signal: AbortSignal | undefined }>();
  private readonly verifying = new Map<string, Promise<VerifyResult>>();
  /** Objects that failed verification in this process: verified whole before any byte is served. */
  private readonly suspect = new Set<string>();
  private readonly active = new Set<Promise<unknown>>();
  private readonly stop = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private reconciling: Promise<ReconcileResult> | undefined;
  private closed = false;

  private constructor(private readonly index: CacheIndex, layout: string, opts: BlockCacheOptions, blockSize: number) {
    this.blockSize = blockSize;
    this.maxBytes = opts.maxBytes;
    // An object that could not stay cached whole next to others (more than a quarter of the
    // limit) would be fetched whole again on every read; such objects go block by block.
    this.wholeObjectBytes = opts.wholeObjectBytes ?? Math.min(DEFAULTS.wholeObjectBytes, Math.floor(opts.maxBytes / 4));
    this.fetchConcurrency = opts.fetchConcurrency ?? DEFAULTS.fetchConcurrency;
    const memoryBytes = opts.memoryBytes ?? DEFAULTS.memoryBytes;
    this.store = new BlockStore({ layout, index, maxBytes: opts.maxBytes, blockSize, memoryBytes, counters: this.counters });
    const maxFetchBlocks = Math.max(1, Math.floor((opts.maxFetchBytes ?? DEFAULTS.maxFetchBytes) / blockSize));
    this.loader = new BlockLoader(this.store, this.counters, maxFetchBlocks);
    this.timer = setInterval(() => this.index.flushAccess(), ACCESS_FLUSH_MS);
    this.timer.unref();
  }

  static async open(opts: BlockCacheOptions): Promise<BlockCache> {
    assertChecksumSupport();
    const blockSize = opts.blockSize ?? DEFAULT_BLOCK_BYTES;
    checkBlockSize(blockSize);
    if (!Number.isSafeInteger(opts.maxBytes) || opts.maxBytes < 0) throw new QuiltError("EUSAGE", `invalid cache size ${opts.maxBytes}`);
    const layout = layoutDir(opts.dataDir, blockSize);
    await mkdir(layout, { recursive: true });
    await mkdir(opts.indexDir, { recursive: true });
    await assertLocalDisk(opts.indexDir);
    const { index, needsReconcile } = await CacheIndex.open(opts.indexDir, blockSize);
    const cache = new BlockCache(index, layout, opts, blockSize);
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
  read(obj: CacheObject, offset: number, length: number, fetch: BlockFetcher, signal?: AbortSignal): Promise<Buffer> {
    return this.readRange(obj, offset, length, fetch, signal, true);
  }

  /**
   * Like read, but a range inside one block comes back as a view of the cache's own copy,
   * without a copy: the caller must not modify it. For the FUSE read path, which copies into
   * the kernel's buffer anyway; a copy per block there is a MiB of garbage per MiB read.
   */
  readView(obj: CacheObject, offset: number, length: number, fetch: BlockFetcher, signal?: AbortSignal): Promise<Buffer> {
    return this.readRange(obj, offset, length, fetch, signal, false);
  }

  private async readRange(obj: CacheObject, offset: number, length: number, fetch: BlockFetcher, signal: AbortSignal | undefined, copy: boolean): Promise<Buffer> {
    this.checkOpen();
    checkSize(obj.size);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new QuiltError("EUSAGE", `invalid read of ${length} bytes at ${offset}`);
    }
    const start = Math.min(offset, obj.size);
    const end = Math.min(obj.size, start + length);
    if (end <= start) return Buffer.alloc(0);
    return this.track(async () => {
      const bs = this.blockSize;
      const first = Math.floor(start / bs);
      const last = Math.floor((end - 1) / bs);
      const release = this.store.pins.pinBlocks(obj.key, first, last);
      try {
        const whole = this.mustVerifyFirst(obj) ? await this.wholeObject(obj, fetch, signal) : undefined;
        if (whole) {
          this.index.touch(obj.key, Date.now());
          return copy ? Buffer.from(whole.subarray(start, end)) : whole.subarray(start, end);
        }
        const span = await this.loader.load(obj, first, last, fetch, limiter(this.fetchConcurrency), signal, true);
        await this.verifyIfComplete(obj);
        if (!copy && first === last) {
          this.countSpan(span.source[0], end - start);
          this.index.touch(obj.key, Date.now());
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
        this.index.touch(obj.key, Date.now());
        return out;
      } finally {
        release();
      }
    });
  }

  /** Makes blocks first..last (clamped to the object) cached, fetching what is missing (prefetch). */
  async ensureBlocks(obj: CacheObject, firstBlock: number, lastBlock: number, fetch: BlockFetcher, signal?: AbortSignal): Promise<void> {
    this.checkOpen();
    const last = Math.min(lastBlock, blockCount(obj.size, this.blockSize) - 1);
    const first = Math.max(0, firstBlock);
    if (first > last) return;
    await this.track(async () => {
      if (this.mustVerifyFirst(obj)) {
        await this.wholeObject(obj, fetch, signal);
        return;
      }
      await this.loader.load(obj, first, last, fetch, limiter(this.fetchConcurrency), signal, false);
      this.index.touch(obj.key, Date.now());
      await this.verifyIfComplete(obj);
    });
  }

  /** Counts a block a read was served from: a hit, or a fetch it joined. */
  private countSpan(source: string | undefined, bytes: number): void {
    if (source === "cached") {
      this.counters.hits++;
      this.counters.bytesFromCache += bytes;
    } else if (source === "joined") {
      this.counters.joinedFetches++;
    }
  }

  /** Keeps blocks first..last of `obj` from eviction until the returned function is called. */
  pinBlocks(obj: CacheObject, first: number, last: number): () => void {
    return this.store.pins.pinBlocks(obj.key, first, last);
  }

  hasBlock(obj: CacheObject, index: number): boolean {
    return this.store.inIndex(obj, index);
  }

  /** Every block is cached (as far as this daemon's index knows). */
  isComplete(obj: CacheObject): boolean {
    const count = blockCount(obj.size, this.blockSize);
    return count === 0 || this.index.object(obj.key)?.present === count;
  }

  /** Blocks cached and whether the object was verified, for `quilt mounts` and status. */
  objectState(obj: CacheObject): { blocks: number; present: number; verified: boolean } {
    const rec = this.index.object(obj.key);
    return { blocks: blockCount(obj.size, this.blockSize), present: rec?.present ?? 0, verified: rec?.verified ?? false };
  }

  /**
   * Hashes the cached object against its manifest hash. "incomplete": some block is not
   * cached; "evicted": it did not match and was deleted. `force` re-reads every block from
   * disk even when the object was verified before.
   */
  async verifyObject(obj: CacheObject, opts: { force?: boolean } = {}): Promise<VerifyResult> {
    this.checkOpen();
    assertHashType(obj.hash.type);
    const rec = this.index.object(obj.key);
    if (!opts.force && rec?.verified && this.isComplete(obj)) return "ok";
    let running = this.verifying.get(obj.key);
    if (!running) {
      running = this.track(() => this.hashObject(obj, opts.force ?? false)).finally(() => this.verifying.delete(obj.key));
      this.verifying.set(obj.key, running);
    }
    return running;
  }

  private async hashObject(obj: CacheObject, fromDisk: boolean): Promise<VerifyResult> {
    const release = this.store.pins.pinObject(obj.key);
    try {
      const read = (i: number) => this.store.local(obj, i, { keepInMemory: false, skipMemory: fromDisk });
      const result = await hashCachedObject(obj, this.blockSize, read);
      if (result === "incomplete") return "incomplete";
      if (result === "ok") {
        this.index.setVerified(obj.key, true);
        this.suspect.delete(obj.key);
        return "ok";
      }
      this.counters.hashMismatches++;
      this.suspect.add(obj.key);
      await this.store.dropObject(obj);
      return "evicted";
    } finally {
      release();
    }
  }

  /** Re-reads every indexed block from disk; bad or missing ones are removed so a refetch repairs them. */
  async checkBlocks(obj: CacheObject): Promise<{ ok: number; bad: number; missing: number }> {
    this.checkOpen();
    return this.track(() => this.store.checkOnDisk(obj, limiter(this.fetchConcurrency)));
  }

  async evictObject(obj: CacheObject): Promise<void> {
    this.checkOpen();
    await this.track(() => this.store.dropObject(obj));
  }

  /** Deletes every block of this layout and empties the index. */
  async clear(): Promise<void> {
    this.checkOpen();
    this.suspect.clear();
    await this.track(() => this.store.clear());
  }

  /** Adopts block files the index does not know (runs at open when needed; joins a running scan). */
  reconcile(): Promise<ReconcileResult> {
    this.checkOpen();
    this.reconciling ??= this.track(async () => {
      const result = await reconcile(this.store.layout, this.index, this.blockSize, this.stop.signal);
      await this.store.settleLimit();
      return result;
    }).finally(() => (this.reconciling = undefined));
    return this.reconciling;
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
    while (this.active.size > 0) await Promise.allSettled([...this.active]);
    await this.store.drain();
    await this.index.close();
  }

  /** Small objects and suspects must be verified whole before a byte is served. */
  private mustVerifyFirst(obj: CacheObject): boolean {
    if (!canVerify(obj) || (obj.size > this.wholeObjectBytes && !this.suspect.has(obj.key))) return false;
    return !(this.index.object(obj.key)?.verified && this.isComplete(obj));
  }

  /**
   * Verifies `obj` before serving it. Returns its bytes when they were fetched whole, or
   * undefined when the cached blocks are now verified and can be read.
   */
  private async wholeObject(obj: CacheObject, fetch: BlockFetcher, signal: AbortSignal | undefined): Promise<Buffer | undefined> {
    for (let attempt = 0; ; attempt++) {
      let entry = this.wholes.get(obj.key);
      const mine = !entry;
      if (!entry) {
        const promise: Promise<Buffer | undefined> = this.fetchWhole(obj, fetch, signal).finally(() => {
          if (this.wholes.get(obj.key)?.promise === promise) this.wholes.delete(obj.key);
        });
        entry = { promise, signal };
        this.wholes.set(obj.key, entry);
      }
      try {
        return await entry.promise;
      } catch (err) {
        // Joined another reader's request and that reader gave up: ours is still wanted.
        if (mine || !entry.signal?.aborted || signal?.aborted || attempt >= 3) throw err;
      }
    }
  }

  private async fetchWhole(obj: CacheObject, fetch: BlockFetcher, signal: AbortSignal | undefined): Promise<Buffer | undefined> {
    const count = blockCount(obj.size, this.blockSize);
    if (obj.size > this.wholeObjectBytes) {
      // A large suspect: cache it all, which verifies it on completion (and throws on mismatch).
      if (obj.size > this.maxBytes) throw mismatch(obj, "it failed verification and is larger than the cache, so it cannot be re-verified");
      await this.loader.load(obj, 0, count - 1, fetch, limiter(this.fetchConcurrency), signal, false);
      await this.verifyIfComplete(obj);
      if (!this.index.object(obj.key)?.verified) throw mismatch(obj, "it failed verification and could not be cached whole to re-verify it");
      return undefined;
    }
    // The blocks may all be on disk already (another daemon, a rebuilt index): verify them there.
    if ((await this.hashObject(obj, false)) === "ok") return undefined;
    const bytes = await this.loader.fetchRange(fetch, 0, obj.size, signal);
    this.counters.misses += count;
    if (!(await bytesMatch(obj, bytes))) {
      this.counters.hashMismatches++;
      throw mismatch(obj, "the fetched bytes do not match it; nothing was cached");
    }
    const blocks = Array.from({ length: count }, (_, i) => ({ index: i, data: bytes.subarray(i * this.blockSize, (i + 1) * this.blockSize) }));
    await this.store.store(obj, blocks);
    if (this.isComplete(obj)) this.index.setVerified(obj.key, true);
    this.suspect.delete(obj.key);
    return bytes;
  }

  /** When the object's last block has just arrived, hash it whole; a mismatch fails the read. */
  private async verifyIfComplete(obj: CacheObject): Promise<void> {
    if (!canVerify(obj)) return;
    const rec = this.index.object(obj.key);
    if (!rec || rec.verified || !this.isComplete(obj)) return;
    if ((await this.verifyObject(obj)) === "evicted") throw mismatch(obj, "the cached object did not match it and was evicted");
  }

  private track<T>(op: () => Promise<T>): Promise<T> {
    const p = op();
    this.active.add(p);
    const done = () => this.active.delete(p);
    p.then(done, done);
    return p;
  }

  private checkOpen(): void {
    if (this.closed) throw new QuiltError("EUSAGE", "the block cache is closed");
  }
}

function mismatch(obj: CacheObject, what: string): QuiltError {
  return new QuiltError("EHASHMISMATCH", `object ${obj.key} (${obj.hash.type} ${obj.hash.value}): ${what}`, {
    hint: "the remote object no longer matches the package; `quilt verify` reports it",
  });
}
