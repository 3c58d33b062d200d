// The daemon's side of holding its manifest index to a size (storage/manifest-index-eviction.ts):
// which versions must stay, and when eviction may run. A version is kept while a mount serves
// it or may switch back to it (`quilt switch --previous`); eviction starts only while no
// mount, switch or restore is under way, since one of them may hold a version opened (or
// being built) that no mount lists yet, and stops before the next version once one starts.
//
// A dropped version's records are removed in batches with the event loop running between
// them (storage/manifest-index-drop.ts), so FUSE requests of every mount are answered
// meanwhile. The version is hidden first, in the same turn as the check that no mount is
// starting; a mount of it that starts during the removal finds it not indexed and waits
// for the removal (betweenBuilds) before indexing it again. Records a killed daemon left
// (a drop or a build cut short) are found at start (ManifestIndex.survey) and removed the
// same way; so are the records of a drop stopped by the daemon closing, and those of a
// version found damaged (hidden by the read that found it: ManifestIndex.onDamage).
import { log } from "../log.js";
import { type ManifestIndex, versionKey } from "../storage/manifest-index.js";
import { removeInBatches } from "../storage/manifest-index-drop.js";
import type { IndexSurvey } from "../storage/manifest-index-survey.js";
import { evictVersions, type IndexEviction } from "../storage/manifest-index-eviction.js";
import type { TopHash } from "../types.js";
import { betweenBuilds } from "./indexed-version.js";
import type { IndexStats } from "./ops.js";
import type { PackageMount } from "./package-mount.js";

export class IndexUpkeep {
  /** Mounts, switches and restores under way. */
  private inFlight = 0;
  private stopped = false;
  /** Sweeps and evictions, one after another (hex ids of versions whose records are still to remove: `leftovers`). */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly leftovers = new Set<string>();
  /** Removals of damaged versions under way (outside `queue`: they wait for no eviction). */
  private readonly damaged = new Set<Promise<void>>();

  constructor(
    private readonly index: ManifestIndex,
    /** What the index is held to (QUILT_INDEX_SIZE). */
    readonly maxBytes: number,
    private readonly mounts: () => Iterable<PackageMount>,
  ) {
    index.onDamage((vid) => this.removeDamaged(vid));
  }

  /**
   * At the daemon's start (nothing builds yet): versions indexed before usage was recorded
   * get a usage record (as least recently used, so eviction finds them first), and the
   * records of versions a killed daemon left without a header are removed in the background.
   */
  start(): void {
    let survey: IndexSurvey;
    try {
      survey = this.index.survey();
    } catch (err) {
      // Eviction then finds fewer versions, and leftovers wait: not a reason to refuse to start.
      log().warn({ err }, "could not survey the manifest index");
      return;
    }
    const { adopted, incomplete } = survey;
    if (adopted.length > 0)
      log().info(
        { versions: adopted.length },
        "indexed versions with no record of use: now least recently used",
      );
    for (const vid of incomplete) this.leftovers.add(vid.toString("hex"));
    if (incomplete.length > 0) {
      log().info({ versions: incomplete.length }, "removing what a killed daemon left in the manifest index");
      this.quietly(this.enqueue(() => this.sweep()));
    }
  }

  /** Runs a mount, switch or restore; once none is under way, holds the index to its size. */
  async busy<T>(op: () => Promise<T>): Promise<T> {
    this.inFlight++;
    try {
      return await op();
    } finally {
      this.inFlight--;
      this.quietly(this.evict());
    }
  }

  /** A mount let go of its version now: the least recently used order counts from here. */
  released(m: PackageMount): void {
    this.index.touch(versionKey(m.manifest.id));
    this.quietly(this.evict());
  }

  /**
   * Drops indexed versions no mount uses, least recently used first, until the index fits
   * `maxBytes` (0: every one, for `quilt cache clear`), after the sweeps and evictions
   * queued before it. Undefined when a mount, switch or restore was under way as it came to
   * run (it runs again when they end) or once the daemon is closing.
   */
  evict(maxBytes = this.maxBytes): Promise<IndexEviction | undefined> {
    return this.enqueue(async () => {
      await this.sweep();
      if (this.inFlight > 0 || this.stopped) return undefined;
      const done = await evictVersions(this.index, maxBytes, this.kept(), {
        mayGoOn: () => this.inFlight === 0 && !this.stopped,
        removeRecords: (vid) => this.removeRecords(vid),
      });
      if (done.dropped.length > 0)
        log().info(
          { dropped: done.dropped, usedBytes: done.usedBytes },
          "dropped indexed versions no mount uses",
        );
      return done;
    });
  }

  /** `quilt cache clear`: every version no mount uses dropped; null while a mount or switch is under way. */
  async clear(): Promise<{ dropped: number; usedBytes: number; fileBytes: number } | null> {
    const done = await this.evict(0);
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
      leftovers: { ...this.index.headerless(), removing: this.leftovers.size },
    };
  }

  /**
   * The daemon is closing: the removal under way stops at its next batch (what it leaves is
   * removed at the next start). Resolves once nothing touches the index any more.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([this.queue, ...this.damaged]);
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

  /** Removes the records of every leftover version (hidden, or left without a header by a killed daemon). */
  private async sweep(): Promise<void> {
    for (const hex of [...this.leftovers]) {
      if (this.stopped) return;
      await this.removeRecords(Buffer.from(hex, "hex"));
    }
  }

  /**
   * Removes hidden version `vid`'s records in batches, never while it is being built: a
   * build found it not indexed and removes what is left itself, so once one indexed it
   * again there is nothing to remove.
   */
  private removeRecords(vid: Buffer): Promise<void> {
    const hex = vid.toString("hex");
    this.leftovers.add(hex);
    return betweenBuilds(this.index, vid, async () => {
      if (!this.index.isComplete(vid)) {
        const done = await removeInBatches(this.index, vid, { stop: () => this.stopped });
        if (!done.complete) return;
      }
      this.leftovers.delete(hex);
    });
  }

  /**
   * A version found damaged was just hidden (ManifestIndex.damage): its records are removed in
   * the background. Queued for its version in this same turn, before any mount can ask to
   * build it again, so a build of it waits for the removal (betweenBuilds), and a removal
   * queued behind a build finds the version complete and removes nothing.
   */
  private removeDamaged(vid: Buffer): void {
    const hex = vid.toString("hex");
    // A walk of a damaged version finds it damaged at each read: one removal is enough. Once
    // the daemon is closing, the hidden version's records wait for the next start's survey.
    if (this.leftovers.has(hex) || this.stopped) return;
    log().warn({ version: hex }, "removing a damaged version from the manifest index");
    const removal = this.removeRecords(vid).catch((err: unknown) =>
      log().warn({ err, version: hex }, "could not remove a damaged version from the manifest index"),
    );
    this.damaged.add(removal);
    void removal.finally(() => this.damaged.delete(removal));
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private quietly(work: Promise<unknown>): void {
    work.catch((err: unknown) => log().warn({ err }, "could not evict versions from the manifest index"));
  }
}
