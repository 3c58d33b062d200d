// The local block cache shared by the library (Package.getBytes, download) and the FUSE
// daemon: one cache, one format. Objects are cut into fixed-size blocks kept as checked files
// (block-file.ts) in a data directory that several daemons may share, and counted in a
// per-daemon LMDB index (cache-index.ts) that holds the size limit with LRU eviction
// (block-store.ts, eviction.ts).
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
import { mkdir } from "node:fs/promises";
import { LRUCache } from "lru-cache";
import { QuiltError } from "../errors.js";
import { log } from "../log.js";
import { assertHashType } from "../manifest/checksums.js";
import type { ObjectSource, SourceFacts } from "../storage/object-source.js";
import { assertChecksumSupport, layoutDir } from "./block-file.js";
import { blockCount, checkBlockSize, DEFAULT_BLOCK_BYTES } from "./block-layout.js";
import { DEFAULTS, type BlockCacheOptions } from "./cache-options.js";
import { BlockLoader, type BlockFetcher, type LoadedSpan } from "./block-loader.js";
import { BlockStore } from "./block-store.js";
import { assertLocalDisk, CacheIndex } from "./cache-index.js";
import { newCounters, type CacheStats } from "./cache-stats.js";
import { chunkDigest, chunkLayout, contradiction, digestsFit, digestsFromParts, refused, sha256 } from "./chunk-digests.js";
import { digestsDir, readDigestFile, writeDigestFile } from "./digest-files.js";
import { ChunkLoader, type ChunkVerifier } from "./chunk-loader.js";
import { checkSize, type CacheObject } from "./content-key.js";
import { limiter } from "./limiter.js";
import { hashWithDigests, privateObject } from "./private-object.js";
import { reconcile, type ReconcileResult } from "./reconcile.js";
import { bytesMatch, canVerify } from "./verify-object.js";

export type { BlockFetcher } from "./block-loader.js";
export type { BlockCacheOptions } from "./cache-options.js";
export type VerifyResult = "ok" | "evicted" | "incomplete";

/** Where an object's bytes come from: a full source (named, inspectable), or a bare ranged fetcher (tests). */
export type ReadSource = ObjectSource | BlockFetcher;

export interface ReadOptions {
  signal?: AbortSignal;
  /** Serve no unverified byte: a large object without chunk digests is verified whole first. */
  strict?: boolean;
  /** Called when the bytes served are not verified yet (the private path). */
  onUnverified?: () => void;
}

/** Access times reach LMDB once a second: LRU order needs no finer grain, and reads stay write-free. */
const ACCESS_FLUSH_MS = 1000;
/** What sources told about their objects (one HEAD each), kept for this many sources. */
const SOURCE_FACTS = 10_000;

type Plan = { kind: "verified"; v: ChunkVerifier; fetch: BlockFetcher } | { kind: "private"; priv: CacheObject; fetch: BlockFetcher };

/** A bare fetcher gets a name of its own, so its private blocks are never another fetcher's. */
const anonymousIds = new WeakMap<BlockFetcher, string>();
let anonymousCount = 0;

function asSource(src: ReadSource): ObjectSource {
  if (typeof src !== "function") return src;
  let id = anonymousIds.get(src);
  if (!id) {
    id = `anonymous ${process.pid}-${anonymousCount++}-${Math.random().toString(36).slice(2)}`;
    anonymousIds.set(src, id);
  }
  return { id, fetch: (range, signal) => src(range, signal) };
}

function readOpts(opts: ReadOptions | AbortSignal | undefined): ReadOptions {
  return opts instanceof AbortSignal ? { signal: opts } : (opts ?? {});
}

export class BlockCache {
  readonly blockSize: number;
  readonly maxBytes: number;
  private readonly counters = newCounters();
  private readonly store: BlockStore;
  private readonly loader: BlockLoader;
  private readonly chunks: ChunkLoader;
  private readonly wholeObjectBytes: number;
  private readonly fetchConcurrency: number;
  private readonly facts = new LRUCache<string, Promise<SourceFacts>>({ max: SOURCE_FACTS });
  /** Private keys whose whole-object hash failed, by content key: every later read of them fails. */
  private readonly failed = new Map<string, Set<string>>();
  /** Private objects being hashed whole (by private key). */
  private readonly settling = new Map<string, Promise<void>>();
  /** Verified private objects being moved to their content key (by content key). */
  private readonly promotions = new Map<string, Promise<void>>();
  /** Strict whole-object loads in flight (by private key). */
  private readonly wholes = new Map<string, Promise<void>>();
  private readonly verifying = new Map<string, Promise<VerifyResult>>();
  private readonly digestFiles: string;
  private readonly active = new Set<Promise<unknown>>();
  private readonly stop = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private reconciling: Promise<ReconcileResult> | undefined;
  private closed = false;

  private constructor(private readonly index: CacheIndex, layout: string, opts: BlockCacheOptions, blockSize: number) {
    this.blockSize = blockSize;
    this.maxBytes = opts.maxBytes;
    // Not reduced for a small cache: a whole object verified in memory is served even when
    // it cannot be kept, and streaming it unverified instead would break the promise.
    this.wholeObjectBytes = opts.wholeObjectBytes ?? DEFAULTS.wholeObjectBytes;
    this.fetchConcurrency = opts.fetchConcurrency ?? DEFAULTS.fetchConcurrency;
    const memoryBytes = opts.memoryBytes ?? DEFAULTS.memoryBytes;
    this.store = new BlockStore({ layout, index, maxBytes: opts.maxBytes, blockSize, memoryBytes, counters: this.counters });
    const maxFetchBlocks = Math.max(1, Math.floor((opts.maxFetchBytes ?? DEFAULTS.maxFetchBytes) / blockSize));
    this.loader = new BlockLoader(this.store, this.counters, maxFetchBlocks);
    this.chunks = new ChunkLoader(this.store, this.loader, this.counters);
    this.digestFiles = digestsDir(layout);
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
  read(obj: CacheObject, offset: number, length: number, src: ReadSource, opts?: ReadOptions | AbortSignal): Promise<Buffer> {
    return this.readRange(obj, offset, length, src, readOpts(opts), true);
  }

  /**
   * Like read, but a range inside one block comes back as a view of the cache's own copy,
   * without a copy: the caller must not modify it. For the FUSE read path, which copies into
   * the kernel's buffer anyway; a copy per block there is a MiB of garbage per MiB read.
   */
  readView(obj: CacheObject, offset: number, length: number, src: ReadSource, opts?: ReadOptions | AbortSignal): Promise<Buffer> {
    return this.readRange(obj, offset, length, src, readOpts(opts), false);
  }

  private async readRange(obj: CacheObject, offset: number, length: number, src: ReadSource, opts: ReadOptions, copy: boolean): Promise<Buffer> {
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
        const span = await this.loadSpan(obj, first, last, asSource(src), opts, true);
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
  async ensureBlocks(obj: CacheObject, firstBlock: number, lastBlock: number, src: ReadSource, opts?: ReadOptions | AbortSignal): Promise<void> {
    this.checkOpen();
    const last = Math.min(lastBlock, blockCount(obj.size, this.blockSize) - 1);
    const first = Math.max(0, firstBlock);
    if (first > last) return;
    await this.track(async () => {
      await this.loadSpan(obj, first, last, asSource(src), readOpts(opts), false);
      this.index.touch(obj.key, Date.now());
    });
  }

  /**
   * Makes `obj` verified in the cache, fetching what is missing: every chunk of an object
   * with digests, or the whole object otherwise. Throws on a mismatch, or when the object
   * cannot be held whole to verify it.
   */
  async ensureVerified(obj: CacheObject, src: ReadSource, opts: { signal?: AbortSignal } = {}): Promise<void> {
    await this.ensureBlocks(obj, 0, blockCount(obj.size, this.blockSize) - 1, src, { ...opts, strict: true });
  }

  /** The blocks of a span, by the object's verification plan. */
  private async loadSpan(obj: CacheObject, first: number, last: number, src: ObjectSource, opts: ReadOptions, want: boolean): Promise<LoadedSpan> {
    let plan = await this.plan(obj, src);
    if (plan.kind === "private" && opts.strict) {
      await this.loadWhole(obj, plan, opts.signal);
      plan = await this.plan(obj, src);
      if (plan.kind === "private") throw mismatch(obj, "it was verified whole but its digests could not be recorded");
    }
    const limit = limiter(this.fetchConcurrency);
    // Its blocks are on their way to the content key: wait rather than fetch them again.
    await this.promotions.get(obj.key)?.catch(() => undefined);
    if (plan.kind === "verified") return this.chunks.load(obj, first, last, plan.v, plan.fetch, limit, opts.signal, want);
    const priv = plan.priv;
    this.assertNotFailed(obj, priv);
    const release = this.store.pins.pinBlocks(priv.key, first, last);
    try {
      const span = await this.loader.load(priv, first, last, plan.fetch, limit, opts.signal, want);
      await this.settle(obj, priv, false);
      // The verdict may have come from another reader's verification while this one loaded.
      this.assertNotFailed(obj, priv);
      if (want) opts.onUnverified?.();
      this.index.touch(priv.key, Date.now());
      return span;
    } finally {
      release();
    }
  }

  /** How `obj` is verified: whole or by chunk (digests known), or privately per source. */
  private async plan(obj: CacheObject, src: ObjectSource): Promise<Plan> {
    const count = blockCount(obj.size, this.blockSize);
    const plain: BlockFetcher = (range, signal) => src.fetch(range, signal);
    const whole = (): Plan => ({ kind: "verified", v: { blocksPerChunk: count, check: (_c, bytes) => bytesMatch(obj, bytes) }, fetch: plain });
    if (canVerify(obj) && (obj.size <= this.wholeObjectBytes || count <= 1)) return whole();
    const layout = chunkLayout(obj.size, this.blockSize);
    const byDigests = (d: Buffer): Plan => ({
      kind: "verified",
      v: { blocksPerChunk: (layout as { blocksPerChunk: number }).blocksPerChunk, check: async (c, bytes) => sha256(bytes).equals(chunkDigest(d, c)) },
      fetch: plain,
    });
    const known = layout ? await this.findDigests(obj) : undefined;
    if (known) return byDigests(known);
    const facts = src.inspect ? await this.inspect(obj, src) : undefined;
    const fromParts = layout && facts ? digestsFromParts(obj, facts.parts) : undefined;
    if (fromParts) {
      await this.recordDigests(obj, fromParts);
      return byDigests(fromParts);
    }
    const pin = facts?.pinEtag;
    return { kind: "private", priv: privateObject(obj, src.id, facts?.version), fetch: pin === undefined ? plain : (range, signal) => src.fetch(range, signal, pin) };
  }

  /** Recorded digests that fit the object (for sha2-256-chunked: recombine to its hash). */
  private knownDigests(obj: CacheObject): Buffer | undefined {
    const d = this.index.digests(obj.key);
    return d && digestsFit(obj, d) ? d : undefined;
  }

  /** Known digests, else self-proving ones another daemon left in the shared data directory. */
  private async findDigests(obj: CacheObject): Promise<Buffer | undefined> {
    const known = this.knownDigests(obj);
    if (known || obj.hash.type !== "sha2-256-chunked") return known;
    const shared = await readDigestFile(this.digestFiles, obj.key);
    if (!shared || !digestsFit(obj, shared)) return undefined;
    this.index.setDigests(obj.key, shared);
    return shared;
  }

  private async recordDigests(obj: CacheObject, digests: Buffer): Promise<void> {
    this.index.setDigests(obj.key, digests);
    if (obj.hash.type === "sha2-256-chunked") await writeDigestFile(this.digestFiles, obj.key, digests);
  }

  /** One look at the source per process; an object its store contradicts is refused here. */
  private async inspect(obj: CacheObject, src: ObjectSource): Promise<SourceFacts> {
    let facts = this.facts.get(src.id);
    if (!facts) {
      facts = (src.inspect as NonNullable<ObjectSource["inspect"]>)({ parts: obj.hash.type === "sha2-256-chunked" });
      this.facts.set(src.id, facts);
      facts.catch(() => this.facts.delete(src.id));
    }
    const seen = await facts;
    const why = contradiction(obj, seen);
    if (why !== undefined) {
      this.counters.hashMismatches++;
      throw refused(obj, why);
    }
    return seen;
  }

  private assertNotFailed(obj: CacheObject, priv: CacheObject): void {
    if (this.failed.get(obj.key)?.has(priv.key)) throw mismatch(obj, "its bytes from this source did not match it earlier; it is not served again until `quilt force-match`");
  }

  /** When a private object is complete, hashes it whole: promotes it on a match, condemns its source otherwise. */
  private async settle(obj: CacheObject, priv: CacheObject, waitForPromotion: boolean): Promise<void> {
    if (!canVerify(obj) || !this.completeKey(priv)) return;
    let running = this.settling.get(priv.key);
    if (!running) {
      running = this.track(() => this.verifyPrivate(obj, priv, waitForPromotion)).finally(() => this.settling.delete(priv.key));
      this.settling.set(priv.key, running);
    }
    await running;
  }

  private async verifyPrivate(obj: CacheObject, priv: CacheObject, waitForPromotion: boolean): Promise<void> {
    const release = this.store.pins.pinObject(priv.key);
    try {
      const layout = chunkLayout(obj.size, this.blockSize);
      const read = (i: number) => this.store.local(priv, i, { keepInMemory: false });
      const { check, digests } = await hashWithDigests(obj, this.blockSize, read, layout);
      if (check === "incomplete") return;
      if (check === "mismatch") {
        this.counters.hashMismatches++;
        let set = this.failed.get(obj.key);
        if (!set) this.failed.set(obj.key, (set = new Set()));
        set.add(priv.key);
        await this.store.dropObject(priv);
        throw mismatch(obj, "the bytes fetched from its source do not match it; they were deleted and the file no longer reads");
      }
      if (digests) await this.recordDigests(obj, digests);
      const promotion = this.track(() => this.promote(obj, priv)).finally(() => this.promotions.delete(obj.key));
      this.promotions.set(obj.key, promotion);
      if (waitForPromotion) await promotion;
      else promotion.catch((err: unknown) => log().warn({ err, key: obj.key }, "promoting a verified object failed"));
    } finally {
      release();
    }
  }

  /** Moves a verified private object to its content key, block by block, so it never needs twice its size. */
  private async promote(obj: CacheObject, priv: CacheObject): Promise<void> {
    const release = this.store.pins.pinObject(priv.key);
    try {
      const n = blockCount(obj.size, this.blockSize);
      for (let i = 0; i < n; i++) {
        if (!this.store.inIndex(obj, i)) {
          const data = await this.store.local(priv, i, { keepInMemory: false });
          if (data) await this.store.store(obj, [{ index: i, data }]);
        }
        await this.store.drop(priv.key, [i]);
      }
      if (this.isComplete(obj)) this.index.setVerified(obj.key, true);
    } finally {
      release();
      await this.store.dropObject(priv);
    }
  }

  /** Strict mode: the whole private object fetched, hashed and promoted before a byte is served. */
  private async loadWhole(obj: CacheObject, plan: Plan & { kind: "private" }, signal: AbortSignal | undefined): Promise<void> {
    const priv = plan.priv;
    this.assertNotFailed(obj, priv);
    if (obj.size > this.maxBytes) {
      throw new QuiltError("EUSAGE", `object ${obj.key} has ${obj.size} bytes, more than the cache holds (${this.maxBytes}); it cannot be verified whole before it is served`, {
        hint: "raise the cache size (--cache-size / QUILT_CACHE_SIZE), or mount without --verify=strict",
      });
    }
    let running = this.wholes.get(priv.key);
    if (!running) {
      running = this.track(async () => {
        const release = this.store.pins.pinObject(priv.key);
        try {
          await this.loader.load(priv, 0, blockCount(obj.size, this.blockSize) - 1, plan.fetch, limiter(this.fetchConcurrency), signal, false);
          await this.settle(obj, priv, true);
        } finally {
          release();
        }
      }).finally(() => this.wholes.delete(priv.key));
      this.wholes.set(priv.key, running);
    }
    await running;
  }

  private completeKey(obj: CacheObject): boolean {
    const count = blockCount(obj.size, this.blockSize);
    return count === 0 || this.index.object(obj.key)?.present === count;
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

  /** Every block is cached under the content key, so verified (as far as this daemon's index knows). */
  isComplete(obj: CacheObject): boolean {
    return this.completeKey(obj);
  }

  /** Some source of the object failed its whole-object hash: readers must not serve what they hold of it. */
  hasFailed(obj: CacheObject): boolean {
    return this.failed.has(obj.key);
  }

  /** Whether chunk digests are known, so any part of the object can be verified on its own. */
  hasDigests(obj: CacheObject): boolean {
    return this.knownDigests(obj) !== undefined;
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
      const { check, digests } = await hashWithDigests(obj, this.blockSize, read, chunkLayout(obj.size, this.blockSize));
      if (check === "incomplete") return "incomplete";
      if (check === "ok") {
        this.index.setVerified(obj.key, true);
        if (digests) await this.recordDigests(obj, digests);
        return "ok";
      }
      this.counters.hashMismatches++;
      this.chunks.forget(obj.key);
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

  /**
   * Forgets the object: its shared blocks, any source's failed verdict, and what `src` said
   * of it (force-match fetches it again, and the remote may have been fixed since).
   */
  async evictObject(obj: CacheObject, src?: ObjectSource): Promise<void> {
    this.checkOpen();
    this.failed.delete(obj.key);
    if (src) this.facts.delete(src.id);
    this.chunks.forget(obj.key);
    await this.track(() => this.store.dropObject(obj));
  }

  /** Deletes every block of this layout and empties the index. */
  async clear(): Promise<void> {
    this.checkOpen();
    this.failed.clear();
    this.facts.clear();
    this.chunks.forgetAll();
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

  /** Resolves when no read, verification or promotion is running (tests, benchmarks, close). */
  async idle(): Promise<void> {
    while (this.active.size > 0) await Promise.allSettled([...this.active]);
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
