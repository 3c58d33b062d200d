// The daemon's side of holding its manifest index to a size (storage/manifest-index-eviction.ts):
// which versions must stay, and when eviction may run. A version is kept while a mount serves
// it or may switch back to it (`quilt switch --previous`); eviction waits until no mount,
// switch or restore is under way, since one of them may hold a version opened (or being
// built) that no mount lists yet. Everything here runs on the daemon's one thread, and an
// eviction is synchronous, so nothing opens a version while it runs.
import { log } from "../log.js";
import { type ManifestIndex, versionKey } from "../storage/manifest-index.js";
import { evictVersions, type IndexEviction } from "../storage/manifest-index-eviction.js";
import type { TopHash } from "../types.js";
import type { IndexStats } from "./ops.js";
import type { PackageMount } from "./package-mount.js";

export class IndexUpkeep {
  /** Mounts, switches and restores under way. */
  private inFlight = 0;
  private stopped = false;

  constructor(
    private readonly index: ManifestIndex,
    /** What the index is held to (QUILT_INDEX_SIZE). */
    readonly maxBytes: number,
    private readonly mounts: () => Iterable<PackageMount>,
  ) {}

  /** Runs a mount, switch or restore; once none is under way, holds the index to its size. */
  async busy<T>(op: () => Promise<T>): Promise<T> {
    this.inFlight++;
    try {
      return await op();
    } finally {
      this.inFlight--;
      this.evictQuietly();
    }
  }

  /** A mount let go of its version now: the least recently used order counts from here. */
  released(m: PackageMount): void {
    this.index.touch(versionKey(m.manifest.id));
    this.evictQuietly();
  }

  /**
   * Drops indexed versions no mount uses, least recently used first, until the index fits
   * `maxBytes` (0: every one, for `quilt cache clear`). Undefined while a mount, switch or
   * restore is under way (it runs again when they end) or once the daemon is closing.
   */
  evict(maxBytes = this.maxBytes): IndexEviction | undefined {
    if (this.inFlight > 0 || this.stopped) return undefined;
    const done = evictVersions(this.index, maxBytes, this.kept());
    if (done.dropped.length > 0)
      log().info(
        { dropped: done.dropped, usedBytes: done.usedBytes },
        "dropped indexed versions no mount uses",
      );
    return done;
  }

  /** `quilt cache clear`: every version no mount uses dropped; null while a mount or switch is under way. */
  clear(): { dropped: number; usedBytes: number; fileBytes: number } | null {
    const done = this.evict(0);
    return done
      ? { dropped: done.dropped.length, usedBytes: done.usedBytes, fileBytes: this.index.fileBytes() }
      : null;
  }

  stats(): IndexStats {
    return {
      versions: this.index.versions().length,
      usedBytes: this.index.usedBytes(),
      fileBytes: this.index.fileBytes(),
      maxBytes: this.maxBytes,
    };
  }

  /** The daemon is closing: the index is about to be closed. */
  stop(): void {
    this.stopped = true;
  }

  /** Hex ids of the versions each mount serves and the one it would switch back to. */
  private kept(): Set<string> {
    const keep = new Set<string>();
    for (const m of this.mounts()) {
      keep.add(versionKey(m.manifest.id).toString("hex"));
      const prev = m.record.previous;
      if (prev)
        keep.add(
          versionKey({
            registry: m.manifest.id.registry,
            name: prev.name,
            topHash: prev.topHash as TopHash,
          }).toString("hex"),
        );
    }
    return keep;
  }

  private evictQuietly(): void {
    try {
      this.evict();
    } catch (err) {
      log().warn({ err }, "could not evict versions from the manifest index");
    }
  }
}
