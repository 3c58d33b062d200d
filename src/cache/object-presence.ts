// What the cache holds of an object, asked without fetching: every block under its content
// key (so verified, as far as this index knows), every block on disk where another index put
// it and checkable without the source, and the counts `quilt mounts` shows. Separate from
// BlockCache, which reads and fetches; these answers come from the index and the disk only.
import { stat } from "node:fs/promises";
import { blockCount } from "./block-layout.js";
import type { BlockStore } from "./block-store.js";
import type { CacheIndex } from "./cache-index.js";
import type { CacheObject } from "./content-key.js";
import type { VerificationPlanner } from "./verification-plan.js";

export interface ObjectPresenceParts {
  store: BlockStore;
  index: CacheIndex;
  planner: VerificationPlanner;
  blockSize: number;
}

export class ObjectPresence {
  constructor(private readonly p: ObjectPresenceParts) {}

  /** Every block is cached under the content key (BlockCache.isComplete). */
  isComplete(obj: CacheObject): boolean {
    const count = blockCount(obj.size, this.p.blockSize);
    return count === 0 || this.p.index.object(obj.key)?.present === count;
  }

  /** Every block is listed by this index, or on disk and checkable offline (BlockCache.holdsWhole). */
  async holdsWhole(obj: CacheObject): Promise<boolean> {
    if (this.isComplete(obj)) return true;
    if (!(await this.p.planner.checkableOffline(obj))) return false;
    for (let i = 0; i < blockCount(obj.size, this.p.blockSize); i++) {
      if (
        !this.p.store.inIndex(obj, i) &&
        !(await stat(this.p.store.path(obj.key, i)).catch(() => undefined))
      )
        return false;
    }
    return true;
  }

  objectState(obj: CacheObject): { blocks: number; present: number; verified: boolean } {
    const rec = this.p.index.object(obj.key);
    return {
      blocks: blockCount(obj.size, this.p.blockSize),
      present: rec?.present ?? 0,
      verified: rec?.verified ?? false,
    };
  }
}
