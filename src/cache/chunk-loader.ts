// Loads blocks of an object whose bytes can be verified before they are served: a small
// object (one chunk, checked against the manifest hash itself) or a large one whose chunk
// digests are known (chunk-digests.ts). The unit of fetching and of verification is the
// chunk: a missing block is fetched with the rest of its chunk in one ranged GET, the chunk
// is hashed, and only if it matches are its blocks stored under the content key and served.
// A mismatch stores nothing and fails the read; the next read fetches again (a byte flipped
// in transit is not a reason to give up on the object).
//
// Blocks under a content key were stored by this cache after verification, so they are
// served as they are (each still checked against its block checksum on every disk read),
// except blocks adopted from disk (a reconcile scan, another daemon sharing the data
// directory): their chunk is hashed once before it is served.
import { LRUCache } from "lru-cache";
import { isQuiltError, QuiltError } from "../errors.js";
import type { BlockFetcher, BlockLoader, LoadedSpan } from "./block-loader.js";
import type { BlockStore } from "./block-store.js";
import type { CacheCounters } from "./cache-stats.js";
import type { CacheObject } from "./content-key.js";
import type { FetchClaims } from "./fetch-claims.js";
import type { Limiter } from "../limiter.js";

/** How to check one chunk of an object. */
export interface ChunkVerifier {
  blocksPerChunk: number;
  /** True when the bytes of chunk `c` are the manifest's. */
  check(c: number, bytes: Buffer): Promise<boolean>;
}

/** Chunks hashed from adopted blocks in this process, so each is hashed once (bounded memory). */
const CHECKED_CHUNKS = 100_000;
/**
 * Verified chunks kept in memory, 32 MiB: a chunk that found no room on disk (a cache smaller
 * than the file, everything else pinned) is still read 8 times per MiB by a FUSE reader, and
 * must not be fetched again for each of those reads.
 */
const RECENT_CHUNK_BYTES = 32 * 1024 * 1024;

export class ChunkLoader {
  /** Chunk fetches in flight, with the signal of the reader that started each. */
  private readonly inflight = new Map<
    string,
    { promise: Promise<Buffer[]>; signal: AbortSignal | undefined }
  >();

  private allIndexed(obj: CacheObject, c: number, v: ChunkVerifier): boolean {
    const last = Math.min(Math.ceil(obj.size / this.store.blockSize), (c + 1) * v.blocksPerChunk) - 1;
    for (let i = c * v.blocksPerChunk; i <= last; i++) if (!this.store.inIndex(obj, i)) return false;
    return true;
  }

  /** Forgets every chunk held in memory (the cache was cleared). */
  forgetAll(): void {
    this.recent.clear();
  }

  /** Forgets what is held in memory for `key` (its blocks were evicted as bad or unwanted). */
  forget(key: string): void {
    for (const id of [...this.recent.keys()]) if (id.startsWith(`${key}/`)) this.recent.delete(id);
  }
  private readonly checked = new LRUCache<string, true>({ max: CHECKED_CHUNKS });
  private readonly recent = new LRUCache<string, Buffer[]>({
    maxSize: RECENT_CHUNK_BYTES,
    sizeCalculation: (bs) =>
      Math.max(
        1,
        bs.reduce((n, b) => n + b.length, 0),
      ),
  });

  constructor(
    private readonly store: BlockStore,
    private readonly loader: BlockLoader,
    private readonly counters: CacheCounters,
    /** Claims in a data directory other processes may share, so each chunk is fetched once among them. */
    private readonly claims?: FetchClaims,
  ) {}

  /** Blocks first..last of `obj`, verified. With `want` false (prefetch), blocks already cached are not read. */
  async load(
    obj: CacheObject,
    first: number,
    last: number,
    v: ChunkVerifier,
    fetch: BlockFetcher,
    limit: Limiter,
    signal: AbortSignal | undefined,
    want: boolean,
  ): Promise<LoadedSpan> {
    const n = last - first + 1;
    const data = new Array<Buffer | undefined>(n);
    const source = new Array<"cached" | "joined" | "fetched">(n).fill("fetched");
    const bpc = v.blocksPerChunk;
    const chunks: number[] = [];
    for (let c = Math.floor(first / bpc); c <= Math.floor(last / bpc); c++) chunks.push(c);
    await Promise.all(
      chunks.map(async (c) => {
        const lo = Math.max(first, c * bpc);
        const hi = Math.min(last, (c + 1) * bpc - 1);
        const joined = this.inflight.has(`${obj.key}/${c}`);
        const held = joined ? undefined : this.recent.get(`${obj.key}/${c}`);
        const cached = joined
          ? undefined
          : held
            ? held.slice(lo - c * bpc, hi - c * bpc + 1)
            : await this.trusted(obj, c, lo, hi, v, want);
        // Held in memory only because there was no room on disk: try again to keep it.
        if (held && !this.allIndexed(obj, c, v))
          await this.store.store(
            obj,
            held.map((data, k) => ({ index: c * bpc + k, data })),
          );
        if (cached) {
          for (let i = lo; i <= hi; i++) {
            data[i - first] = cached[i - lo];
            source[i - first] = "cached";
          }
          return;
        }
        const blocks = await this.chunk(obj, c, v, fetch, limit, signal);
        for (let i = lo; i <= hi; i++) {
          data[i - first] = blocks[i - c * bpc];
          if (joined) source[i - first] = "joined";
        }
      }),
    );
    return { data, source };
  }

  /**
   * Blocks lo..hi of chunk `c` from the cache when they can be served without a fetch
   * (an array of undefined when `want` is false), else undefined.
   */
  private async trusted(
    obj: CacheObject,
    c: number,
    lo: number,
    hi: number,
    v: ChunkVerifier,
    want: boolean,
  ): Promise<(Buffer | undefined)[] | undefined> {
    let indexed = true;
    for (let i = lo; i <= hi && indexed; i++) indexed = this.store.inIndex(obj, i);
    const adopted =
      this.store.index.object(obj.key)?.adopted === true && !this.checked.has(`${obj.key}/${c}`);
    // Files the index does not list may be on disk (another daemon sharing the directory, a
    // lost index): hashed before use, like adopted ones.
    if (!indexed || adopted) return this.checkLocal(obj, c, v, lo, hi);
    if (!want) return new Array<undefined>(hi - lo + 1);
    const out: Buffer[] = [];
    for (let i = lo; i <= hi; i++) {
      const b = await this.store.local(obj, i);
      if (!b) return undefined; // evicted or corrupt meanwhile: fetch the chunk
      out.push(b);
    }
    return out;
  }

  /** Hashes a chunk found on disk but not written here after verification; one that does not match is deleted. */
  private async checkLocal(
    obj: CacheObject,
    c: number,
    v: ChunkVerifier,
    lo: number,
    hi: number,
  ): Promise<Buffer[] | undefined> {
    const bpc = v.blocksPerChunk;
    const count = Math.ceil(obj.size / this.store.blockSize);
    const last = Math.min(count - 1, (c + 1) * bpc - 1);
    const blocks: Buffer[] = [];
    for (let i = c * bpc; i <= last; i++) {
      // A cold chunk stops at its first missing block: one failed open, not one per block.
      const b = await this.store.local(obj, i, { keepInMemory: false });
      if (!b) return undefined;
      blocks.push(b);
    }
    if (await v.check(c, Buffer.concat(blocks))) {
      this.checked.set(`${obj.key}/${c}`, true);
      blocks.forEach((b, k) => this.store.remember(obj, c * bpc + k, b));
      this.markVerifiedIfComplete(obj, v);
      return blocks.slice(lo - c * bpc, hi - c * bpc + 1);
    }
    this.counters.hashMismatches++;
    await this.store.drop(
      obj.key,
      Array.from({ length: last - c * bpc + 1 }, (_, k) => c * bpc + k),
    );
    return undefined;
  }

  /** Every block of chunk `c`, fetched in one request and verified (single flight per chunk). */
  private async chunk(
    obj: CacheObject,
    c: number,
    v: ChunkVerifier,
    fetch: BlockFetcher,
    limit: Limiter,
    signal: AbortSignal | undefined,
  ): Promise<Buffer[]> {
    const id = `${obj.key}/${c}`;
    const running = this.inflight.get(id);
    if (!running) {
      const mine: Promise<Buffer[]> = this.fetchChunk(obj, c, v, fetch, limit, signal).finally(() => {
        if (this.inflight.get(id)?.promise === mine) this.inflight.delete(id);
      });
      this.inflight.set(id, { promise: mine, signal });
      return mine;
    }
    try {
      return await running.promise;
    } catch (err) {
      // Joined another reader's fetch and it failed for that reader's own reason: its reader
      // gave up (its abort is not ours), or its source served other bytes (this reader may
      // have another source of the same content). Fetch once with our own.
      const theirs = running.signal?.aborted === true && signal?.aborted !== true;
      if (!theirs && !isQuiltError(err, "EHASHMISMATCH")) throw err;
      return this.fetchChunk(obj, c, v, fetch, limit, signal);
    }
  }

  /**
   * Chunk `c` fetched and verified here, or, when another process sharing the data directory
   * claimed its fetch first, from the block files it wrote, hashed here before use.
   */
  private fetchChunk(
    obj: CacheObject,
    c: number,
    v: ChunkVerifier,
    fetch: BlockFetcher,
    limit: Limiter,
    signal: AbortSignal | undefined,
  ): Promise<Buffer[]> {
    const fetchHere = () => this.fetchVerified(obj, c, v, fetch, limit, signal);
    if (!this.claims) return fetchHere();
    const count = Math.ceil(obj.size / this.store.blockSize);
    const lo = c * v.blocksPerChunk;
    const hi = Math.min(count - 1, lo + v.blocksPerChunk - 1);
    return this.claims.run(`${obj.key}.${c}`, () => this.checkLocal(obj, c, v, lo, hi), fetchHere, signal);
  }

  private async fetchVerified(
    obj: CacheObject,
    c: number,
    v: ChunkVerifier,
    fetch: BlockFetcher,
    limit: Limiter,
    signal: AbortSignal | undefined,
  ): Promise<Buffer[]> {
    const bs = this.store.blockSize;
    const first = c * v.blocksPerChunk;
    const start = first * bs;
    const end = Math.min(obj.size, start + v.blocksPerChunk * bs);
    const bytes = await limit.run(() => this.loader.fetchRange(fetch, start, end, signal));
    const count = Math.ceil((end - start) / bs);
    this.counters.misses += count;
    if (!(await v.check(c, bytes))) {
      this.counters.hashMismatches++;
      throw new QuiltError(
        "EHASHMISMATCH",
        `object ${obj.key} (${obj.hash.type} ${obj.hash.value}): bytes [${start}, ${end}) fetched do not match the manifest; nothing was served or cached`,
        {
          hint: "the remote object no longer matches the package, or bytes were damaged in transit; `quilt verify` reports it",
        },
      );
    }
    const blocks = Array.from({ length: count }, (_, k) => ({
      index: first + k,
      data: bytes.subarray(k * bs, Math.min(bytes.length, (k + 1) * bs)),
    }));
    await this.store.store(obj, blocks);
    this.markVerifiedIfComplete(obj, v);
    const data = blocks.map((b) => b.data);
    this.recent.set(`${obj.key}/${c}`, data);
    return data;
  }

  /** Every block present and none adopted unchecked: each chunk was verified, so the object is. */
  private markVerifiedIfComplete(obj: CacheObject, v: ChunkVerifier): void {
    const rec = this.store.index.object(obj.key);
    const count = Math.ceil(obj.size / this.store.blockSize);
    if (!rec || rec.verified || rec.present !== count) return;
    if (rec.adopted) {
      for (let c = 0; c * v.blocksPerChunk < count; c++) if (!this.checked.has(`${obj.key}/${c}`)) return;
    }
    this.store.index.setVerified(obj.key, true);
  }
}
