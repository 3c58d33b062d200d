// Re-hashing what the cache holds of an object against its manifest hash, without fetching
// (`quilt verify` and force-match on a mount): a match marks it verified and records its
// chunk digests; a mismatch deletes its blocks so the next read fetches it again. One check
// per object at a time: concurrent callers share the running one.
import { assertHashType } from "../manifest/checksums.js";
import type { BlockStore } from "./block-store.js";
import type { CacheIndex } from "./cache-index.js";
import type { CacheCounters } from "./cache-stats.js";
import { chunkLayout } from "./chunk-digests.js";
import type { ChunkLoader } from "./chunk-loader.js";
import type { CacheObject } from "./content-key.js";
import { hashWithDigests } from "./private-object.js";
import type { VerificationPlanner } from "./verification-plan.js";

/** What re-hashing a cached object found: it matched, it did not (and was deleted), or a block is missing. */
export type CachedObjectVerdict = "ok" | "evicted" | "incomplete";

export interface CachedObjectCheckParts {
  store: BlockStore;
  index: CacheIndex;
  counters: CacheCounters;
  planner: VerificationPlanner;
  chunks: ChunkLoader;
  blockSize: number;
  /** Every block of the object is cached under its content key. */
  isComplete: (obj: CacheObject) => boolean;
  /** Registers the work so that closing the cache waits for it. */
  track: <T>(op: () => Promise<T>) => Promise<T>;
}

export class CachedObjectCheck {
  private readonly running = new Map<string, Promise<CachedObjectVerdict>>();

  constructor(private readonly p: CachedObjectCheckParts) {}

  /** `force` re-reads every block from disk even when the object was verified before. */
  verify(obj: CacheObject, opts: { force?: boolean } = {}): Promise<CachedObjectVerdict> {
    assertHashType(obj.hash.type);
    const rec = this.p.index.object(obj.key);
    if (!opts.force && rec?.verified && this.p.isComplete(obj)) return Promise.resolve("ok");
    let running = this.running.get(obj.key);
    if (!running) {
      running = this.p
        .track(() => this.hash(obj, opts.force ?? false))
        .finally(() => this.running.delete(obj.key));
      this.running.set(obj.key, running);
    }
    return running;
  }

  private async hash(obj: CacheObject, fromDisk: boolean): Promise<CachedObjectVerdict> {
    const { store, blockSize } = this.p;
    const release = store.pins.pinObject(obj.key);
    try {
      const read = (i: number) => store.local(obj, i, { keepInMemory: false, skipMemory: fromDisk });
      const { check, digests } = await hashWithDigests(
        obj,
        blockSize,
        read,
        chunkLayout(obj.size, blockSize),
      );
      if (check === "incomplete") return "incomplete";
      if (check === "ok") {
        this.p.index.setVerified(obj.key, true);
        if (digests) await this.p.planner.recordDigests(obj, digests);
        return "ok";
      }
      this.p.counters.hashMismatches++;
      this.p.chunks.forget(obj.key);
      await store.dropObject(obj);
      return "evicted";
    } finally {
      release();
    }
  }
}
