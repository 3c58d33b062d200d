// Large objects whose bytes could not be verified before they were served (no chunk digests),
// held under their private source key (private-object.ts) until they can be judged whole:
// - as blocks arrive in order they are fed to a running hash of the object, so that when
//   every block is present the verdict is (nearly) ready; a match records its chunk digests
//   and moves its blocks to the shared content key (a rename per block file: the private
//   files' headers already name the content key, so nothing is written twice); a mismatch
//   deletes them and condemns the source: every later read of that source fails until
//   force-match evicts the object;
// - strict reads first fetch the whole object privately and wait for that judgement.
import { LRUCache } from "lru-cache";
import { QuiltError } from "../errors.js";
import { log } from "../log.js";
import { HEADER_BYTES } from "./block-file.js";
import { blockCount } from "./block-layout.js";
import type { BlockFetcher, BlockLoader } from "./block-loader.js";
import type { BlockStore } from "./block-store.js";
import type { CacheCounters } from "./cache-stats.js";
import { chunkLayout } from "./chunk-digests.js";
import type { CacheObject } from "./content-key.js";
import type { Limiter } from "../limiter.js";
import { hashWithDigests, ObjectHasher } from "./private-object.js";
import { canVerify } from "./verify-object.js";

/** Objects hashed as they stream in at once; a stream beyond these is hashed when complete. */
const RUNNING_HASHES = 64;

export interface UnverifiedDeps {
  store: BlockStore;
  loader: BlockLoader;
  counters: CacheCounters;
  maxBytes: number;
  /** Keeps digests learned from a whole-object match. */
  recordDigests(obj: CacheObject, digests: Buffer): Promise<void>;
  /** Registers background work, so the cache's close waits for it. */
  track<T>(op: () => Promise<T>): Promise<T>;
}

export class UnverifiedObjects {
  /** Private keys whose whole-object hash failed, by content key. */
  private readonly failed = new Map<string, Set<string>>();
  /** Private objects being hashed whole (by private key). */
  private readonly settling = new Map<string, Promise<void>>();
  /** Verified private objects being moved to their content key (by content key). */
  private readonly promotions = new Map<string, Promise<void>>();
  /** Strict whole-object loads in flight (by private key), with the signal of the reader that started each. */
  private readonly wholes = new Map<string, { promise: Promise<void>; signal: AbortSignal | undefined }>();
  /** Running whole-object hashes, fed blocks in order as they arrive (by private key; bounded). */
  private readonly hashing = new LRUCache<string, ObjectHasher>({ max: RUNNING_HASHES });
  /** The feeding in progress per private key, so blocks are fed once and in order. */
  private readonly feeding = new Map<string, Promise<void>>();

  constructor(private readonly d: UnverifiedDeps) {
    d.store.index.onRemove = (key, indexes) => {
      const h = this.hashing.get(key);
      if (h && indexes.some((i) => i < h.next)) h.invalid = true;
    };
  }

  /** Blocks first..last of `obj` from its private copy, fetched as needed, then judged if complete. */
  async load(
    obj: CacheObject,
    priv: CacheObject,
    first: number,
    last: number,
    fetch: BlockFetcher,
    limit: Limiter,
    signal: AbortSignal | undefined,
    want: boolean,
  ) {
    this.assertNotFailed(obj, priv);
    const release = this.d.store.pins.pinBlocks(priv.key, first, last);
    try {
      const span = await this.d.loader.load(priv, first, last, fetch, limit, signal, want);
      await this.feed(obj, priv);
      await this.settle(obj, priv, false);
      // The verdict may have come from another reader's verification while this one loaded.
      this.assertNotFailed(obj, priv);
      this.d.store.index.touch(priv.key, Date.now());
      return span;
    } finally {
      release();
    }
  }

  /** Strict: the whole private object fetched, hashed and moved to its content key before a byte is served. */
  async loadWhole(
    obj: CacheObject,
    priv: CacheObject,
    fetch: BlockFetcher,
    limit: Limiter,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    this.assertNotFailed(obj, priv);
    const count = blockCount(obj.size, this.d.store.blockSize);
    if (obj.size + count * HEADER_BYTES > this.d.maxBytes)
      throw tooLarge(obj, `it has ${obj.size} bytes, more than the cache holds (${this.d.maxBytes})`);
    for (let attempt = 0; ; attempt++) {
      const running = this.wholes.get(priv.key);
      const mine = running === undefined;
      const entry = running ?? { promise: this.fetchWhole(obj, priv, count, fetch, limit, signal), signal };
      if (mine) {
        this.wholes.set(priv.key, entry);
        entry.promise
          .finally(() => this.wholes.get(priv.key) === entry && this.wholes.delete(priv.key))
          .catch(() => undefined);
      }
      try {
        await entry.promise;
        break;
      } catch (err) {
        // Joined another reader's load and that reader gave up: ours is still wanted.
        if (mine || !entry.signal?.aborted || signal?.aborted || attempt >= 3) throw err;
      }
    }
  }

  private fetchWhole(
    obj: CacheObject,
    priv: CacheObject,
    count: number,
    fetch: BlockFetcher,
    limit: Limiter,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    return this.d.track(async () => {
      const release = this.d.store.pins.pinObject(priv.key);
      try {
        await this.d.loader.load(priv, 0, count - 1, fetch, limit, signal, false);
        await this.feed(obj, priv);
        await this.settle(obj, priv, true);
      } finally {
        release();
      }
    });
  }

  /** Waits for `obj`'s blocks to reach their content key, if they are on their way. */
  async promoted(obj: CacheObject): Promise<void> {
    await this.promotions.get(obj.key)?.catch(() => undefined);
  }

  hasFailed(obj: CacheObject): boolean {
    return this.failed.has(obj.key);
  }

  /** Clears every source's verdict on `obj` (force-match fetches it again). */
  forgive(obj: CacheObject): void {
    this.failed.delete(obj.key);
  }

  clear(): void {
    this.failed.clear();
    this.hashing.clear();
  }

  private assertNotFailed(obj: CacheObject, priv: CacheObject): void {
    if (this.failed.get(obj.key)?.has(priv.key))
      throw mismatch(
        obj,
        "its bytes from this source did not match it earlier; it is not served again until `quilt force-match`",
      );
  }

  /** When a private object is complete, hashes it whole: promotes it on a match, condemns its source otherwise. */
  private async settle(obj: CacheObject, priv: CacheObject, waitForPromotion: boolean): Promise<void> {
    const count = blockCount(obj.size, this.d.store.blockSize);
    if (!canVerify(obj) || this.d.store.index.object(priv.key)?.present !== count) return;
    let running = this.settling.get(priv.key);
    if (!running) {
      running = this.d
        .track(() => this.judge(obj, priv, waitForPromotion))
        .finally(() => this.settling.delete(priv.key));
      this.settling.set(priv.key, running);
    }
    await running;
  }

  /**
   * Feeds the running hash of `priv` the blocks present from where it stopped, in order
   * (they are usually still in the store's memory). A block missing in the middle pauses it;
   * one evicted before it was fed ends it, and the object is then hashed from disk when complete.
   */
  private async feed(obj: CacheObject, priv: CacheObject): Promise<void> {
    if (!canVerify(obj)) return;
    const running = this.feeding.get(priv.key);
    if (running) return running;
    const work = this.d
      .track(async () => {
        const { store } = this.d;
        let h = this.hashing.get(priv.key);
        if (h?.invalid) {
          this.hashing.delete(priv.key);
          h = undefined;
        }
        if (!h) {
          if (!store.inIndex(priv, 0)) return;
          h = new ObjectHasher(obj, store.blockSize, chunkLayout(obj.size, store.blockSize));
          this.hashing.set(priv.key, h);
        }
        if (!(await this.feedFrom(h, priv))) this.hashing.delete(priv.key);
      })
      .finally(() => this.feeding.delete(priv.key));
    this.feeding.set(priv.key, work);
    return work;
  }

  /** Feeds `h` while the next block is present; false when one listed was gone. */
  private feedFrom(h: ObjectHasher, priv: CacheObject): Promise<boolean> {
    const { store } = this.d;
    return h.exclusive(async () => {
      while (!h.invalid && !h.done && store.inIndex(priv, h.next)) {
        const block = await store.local(priv, h.next);
        if (!block) return false;
        h.update(block);
      }
      return !h.invalid;
    });
  }

  private async judge(obj: CacheObject, priv: CacheObject, waitForPromotion: boolean): Promise<void> {
    const { store } = this.d;
    const release = store.pins.pinObject(priv.key);
    try {
      const running = this.hashing.get(priv.key);
      // Blocks that arrived after the last feed: finish the running hash rather than start over.
      if (running && !running.invalid && !running.done) await this.feedFrom(running, priv);
      this.hashing.delete(priv.key);
      // The running hash speaks for the copy only if no block it hashed has left since (the
      // object is pinned from here on): otherwise the copy is hashed again as it is now.
      const usable = running !== undefined && running.done && !running.invalid;
      const read = (i: number) => store.local(priv, i, { keepInMemory: false });
      const { check, digests } = usable
        ? await running.finish()
        : await hashWithDigests(obj, store.blockSize, read, chunkLayout(obj.size, store.blockSize));
      if (check === "incomplete") return;
      if (check === "mismatch") {
        this.d.counters.hashMismatches++;
        let set = this.failed.get(obj.key);
        if (!set) this.failed.set(obj.key, (set = new Set()));
        set.add(priv.key);
        await store.dropObject(priv);
        throw mismatch(
          obj,
          "the bytes fetched from its source do not match it; they were deleted and the file no longer reads",
        );
      }
      if (digests) await this.d.recordDigests(obj, digests);
      const promotion: Promise<void> = this.d
        .track(() => this.promote(obj, priv))
        .finally(() => {
          if (this.promotions.get(obj.key) === promotion) this.promotions.delete(obj.key);
        });
      this.promotions.set(obj.key, promotion);
      if (waitForPromotion) await promotion;
      else
        promotion.catch((err: unknown) =>
          log().warn({ err, key: obj.key }, "promoting a verified object failed"),
        );
    } finally {
      release();
    }
  }

  private async promote(obj: CacheObject, priv: CacheObject): Promise<void> {
    const { store } = this.d;
    const release = store.pins.pinObject(priv.key);
    try {
      const n = blockCount(obj.size, store.blockSize);
      for (let i = 0; i < n; i++) {
        if (store.inIndex(obj, i)) await store.drop(priv.key, [i]);
        else await store.moveBlock(priv, obj, i);
      }
      const rec = store.index.object(obj.key);
      if (rec?.present === n && !rec.adopted) store.index.setVerified(obj.key, true);
    } finally {
      release();
      await store.dropObject(priv);
    }
  }
}

/** An object strict mode cannot verify whole: not a mismatch, so nothing is condemned. */
export function tooLarge(obj: CacheObject, why: string): QuiltError {
  return new QuiltError(
    "ENOSPACE",
    `object ${obj.key} cannot be verified whole before it is served: ${why}`,
    {
      hint: "raise the cache size (--cache-size / QUILT_CACHE_SIZE); or mount without --verify=strict (it streams, verified when complete), or `quilt install` it (verified before it is renamed into place)",
    },
  );
}

export function mismatch(obj: CacheObject, what: string): QuiltError {
  return new QuiltError("EHASHMISMATCH", `object ${obj.key} (${obj.hash.type} ${obj.hash.value}): ${what}`, {
    hint: "the remote object no longer matches the package; `quilt verify` reports it",
  });
}
