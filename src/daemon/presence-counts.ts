// What `quilt mounts` says a mount has in the cache: bytes cached and files whole, counted
// over every entry of its version (a million node reads from the manifest index). Counted
// again only when the cache's blocks or the version changed since, so a node's monitoring
// polling `quilt mounts` does not walk an idle million-entry mount each time.
import type { BlockCache } from "../cache/block-cache.js";
import { cacheObjectForEntry } from "../cache/content-key.js";
import type { IndexedVersion } from "./indexed-version.js";

export interface Presence {
  cachedBytes: number;
  verifiedFiles: number;
}

export class PresenceCounts {
  /** Walks over every entry made so far (tests). */
  walks = 0;
  private last: (Presence & { changes: number; version: IndexedVersion }) | undefined;

  constructor(private readonly cache: BlockCache) {}

  count(version: IndexedVersion): Presence {
    const changes = this.cache.presenceChanges;
    if (this.last && this.last.changes === changes && this.last.version === version) return this.last;
    let cachedBytes = 0;
    // With nothing cached, only empty files count as verified: the walk is skipped, e.g. for
    // a first mount's reply.
    const nothingCached = this.cache.stats().objects === 0;
    let verifiedFiles = nothingCached ? version.header.emptyFiles : 0;
    for (const e of nothingCached ? [] : version.entries()) {
      const st = this.cache.objectState(cacheObjectForEntry(e));
      cachedBytes += st.blocks === 0 ? 0 : Math.min(e.size, st.present * this.cache.blockSize);
      if (st.blocks === 0 || st.present === st.blocks) verifiedFiles++;
    }
    if (!nothingCached) this.walks++;
    this.last = { changes, version, cachedBytes, verifiedFiles };
    return this.last;
  }
}
