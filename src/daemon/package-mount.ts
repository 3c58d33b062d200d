// One mounted package version: the manifest's tree served read-only through FUSE, file
// bytes through the shared block cache, what `quilt mounts` says of it, and its integrity
// checks (verify and force-match, in mount-integrity.ts) on the version it serves.
import { hostname } from "node:os";
import type { BlockCache } from "../cache/block-cache.js";
import { cacheObjectForEntry } from "../cache/content-key.js";
import { QuiltError } from "../errors.js";
import { QuiltFilesystem } from "../fs/filesystem.js";
import { mount, type MountHandle } from "../fs/fuse-mount.js";
import { ROOT_INO } from "../fs/inode-tree.js";
import type { FsTree } from "../fs/tree.js";
import { log } from "../log.js";
import type { FaultCounts } from "../storage/fault-counters.js";
import type { Stores } from "../storage/stores.js";
import { MountEntryReader } from "./mount-entry-reader.js";
import {
  MountIntegrity,
  type CheckOptions,
  type ForceMatchReply,
  type MountCheck,
} from "./mount-integrity.js";
import { PresenceCounts } from "./presence-counts.js";
import type { IndexedVersion } from "./indexed-version.js";
import type { MountRecord, MountVersion } from "./mount-records.js";
import { versionLabel } from "../manifest/version-label.js";

export interface MountInfoReply {
  mountpoint: string;
  /** name:tag, or name@hash9 when mounted by hash. */
  package: string;
  name: string;
  tag: string | null;
  registry: string;
  topHash: string;
  entries: number;
  totalBytes: number;
  /** Bytes of this package's objects present in the cache. */
  cachedBytes: number;
  bytesRead: number;
  mountedAt: string;
  /** "strict" or "default" (see `quilt mount --verify`). */
  verify: "strict" | "default";
  /** Mounted with --allow-other: users other than the daemon's may read it. */
  allowOther: boolean;
  /** Files whose cached bytes are all verified (complete under their content key). */
  verifiedFiles: number;
  /** Files some of whose bytes were served before they could be verified, and not verified since. */
  unverifiedFiles: string[];
  /** Files whose bytes failed their manifest hash (reads fail with EIO until force-match). */
  failedFiles: string[];
  /** Retries this mount's fetches needed, by cause, and fetches that failed after every attempt. */
  faults: FaultCounts;
  /** Size of the version's manifest (JSONL), when the registry said. */
  manifestBytes: number | null;
  /** Requests for bytes this mount's reads caused (S3 GETs, or file reads of a local registry). */
  gets: number;
  /** Bytes those requests brought (readahead included). */
  fetchedBytes: number;
  /**
   * Share of the bytes served to readers that were not fetched for them: 1 − fetchedBytes /
   * bytesRead, at least 0 (null before the first read). Readahead fetched and never read lowers it.
   */
  hitRatio: number | null;
  /** "failed" if a file failed its hash, else "unverified" if bytes were served before verification, else "ok". */
  verification: "ok" | "unverified" | "failed";
  /** How many files are in unverifiedFiles and failedFiles (those lists stop at 1000 names). */
  unverifiedCount: number;
  failedCount: number;
  /** The version served before the last `quilt switch` (what `quilt switch --previous` returns to), or null. */
  previous: (MountVersion & { package: string }) | null;
  /** getattr requests the kernel sent: one per lookup of a name it did not hold (or whose attributes expired). */
  getattrs: number;
  /** Pages of directory listings the kernel asked for (each with its names' attributes: READDIRPLUS). */
  readdirs: number;
  /** Times the daemon's memory bound (QUILT_NAMES_MEMORY) asked the kernel to forget this mount's names. */
  forgettings: number;
}

export class PackageMount {
  private handle: MountHandle | undefined;
  private readonly reader: MountEntryReader;
  private readonly integrity: MountIntegrity;
  private core: QuiltFilesystem | undefined;
  /** What `info` says is cached, counted again only when the cache changed. */
  readonly presence: PresenceCounts;

  constructor(
    public record: MountRecord,
    /** The version served now, read from the local manifest index (no parsed manifest is held); `quilt switch` replaces it. */
    public manifest: IndexedVersion,
    private readonly cache: BlockCache,
    private readonly stores: Stores,
  ) {
    this.reader = new MountEntryReader(cache, stores, record.verify === "strict");
    this.integrity = new MountIntegrity(cache, stores, this.reader);
    this.presence = new PresenceCounts(cache);
  }

  get label(): string {
    return versionLabel(this.record);
  }

  /** Size of the manifest this mount serves, when its registry said (`quilt mount` prints it). */
  manifestBytes: number | null = null;

  async mount(time: Date): Promise<void> {
    const core = (this.core = new QuiltFilesystem(
      { tree: this.manifest.tree, userMeta: this.manifest.userMeta },
      this.reader,
      {
        uid: process.getuid?.() ?? 0,
        gid: process.getgid?.() ?? 0,
        time,
        topHash: this.record.topHash,
        // Its root-level name again: the kernel could not drop the file's dentry while it was open.
        onOlderClosed: (path) =>
          void this.invalidate([path.split("/").find((c) => c !== "") ?? ""]).catch((err: unknown) =>
            log().warn({ err, path }, "could not invalidate a closed file's path"),
          ),
      },
    ));
    this.handle = await mount(core, this.record.mountpoint, {
      name: `${this.record.name}@${this.record.topHash.slice(0, 12)}`,
      ...(this.record.allowOther && { allowOther: true }),
      ...(this.record.nonEmpty && { nonEmpty: true }),
    });
    log().info({ mountpoint: this.record.mountpoint, package: this.label, host: hostname() }, "mounted");
  }

  /**
   * Serves another version from now on (the caller opened it from its verified manifest,
   * indexed): the tree is swapped in one step, files open before keep their old entries, and
   * the kernel is told to forget the old names so the next lookup of any path sees the new version.
   */
  async switchTo(record: MountRecord, version: IndexedVersion, time: Date): Promise<{ stillOpen: number }> {
    const core = this.core;
    if (core === undefined) throw new QuiltError("EINTERNAL", `${this.record.mountpoint} is not mounted`);
    const old = core.switchTo(
      { tree: version.tree, userMeta: version.userMeta },
      { time, topHash: record.topHash },
    );
    this.record = record;
    this.manifest = version;
    // A verdict on a key's old bytes says nothing about other bytes under the same key.
    for (const key of [
      ...this.reader.failed.keys(),
      ...this.reader.unverified,
      ...this.integrity.unrepaired.keys(),
    ]) {
      const e = version.get(key);
      const ino = old.resolve(key);
      const was = ino > 0 ? old.entry(ino) : undefined;
      if (
        e === undefined ||
        was === undefined ||
        cacheObjectForEntry(e).key !== cacheObjectForEntry(was).key
      ) {
        this.reader.failed.delete(key);
        this.reader.unverified.delete(key);
        this.integrity.unrepaired.delete(key);
      }
    }
    await this.invalidate(new Set([...rootNames(old), ...rootNames(core.tree)]));
    const stillOpen = core.olderOpen();
    log().info(
      { mountpoint: record.mountpoint, package: this.label, topHash: record.topHash, stillOpen },
      "switched",
    );
    return { stillOpen };
  }

  /** Times the daemon's memory bound asked the kernel to forget this mount's names (names-upkeep.ts). */
  forgettings = 0;

  /** Requests the kernel sent this mount so far (0 before it is mounted). */
  get requests(): number {
    return this.handle?.tally.requests ?? 0;
  }

  /**
   * Asks the kernel to forget the names it holds for this mount (every root-level name, so
   * every unused dentry below them), which frees libfuse's node for each as the kernel's
   * FORGETs arrive. Open files keep their dentries; a later lookup asks the daemon again.
   */
  async forgetNames(): Promise<{ notices: number }> {
    const core = this.core;
    if (core === undefined) return { notices: 0 };
    this.forgettings++;
    return this.invalidate(rootNames(core.tree));
  }

  private invalidate(names: Iterable<string>): Promise<{ notices: number }> {
    return this.handle?.invalidateRootNames(names) ?? Promise.resolve({ notices: 0 });
  }

  async unmount(force = false): Promise<void> {
    await this.handle?.unmount({ force });
    this.handle = undefined;
    log().info({ mountpoint: this.record.mountpoint }, "unmounted");
  }

  info(): MountInfoReply {
    const { cachedBytes, verifiedFiles } = this.presence.count(this.manifest);
    // Served unverified, then verified since (its digests are known now): no longer listed.
    for (const key of this.reader.unverified) {
      const e = this.manifest.get(key);
      if (e && this.cache.hasDigests(cacheObjectForEntry(e))) this.reader.unverified.delete(key);
    }
    return {
      mountpoint: this.record.mountpoint,
      package: this.label,
      name: this.record.name,
      tag: this.record.tag ?? null,
      registry: this.record.registry,
      topHash: this.record.topHash,
      entries: this.manifest.size,
      totalBytes: this.manifest.totalBytes(),
      cachedBytes,
      bytesRead: this.reader.bytesRead,
      mountedAt: this.record.mountedAt,
      verify: this.record.verify ?? "default",
      allowOther: this.record.allowOther === true,
      verifiedFiles,
      unverifiedFiles: [...this.reader.unverified].sort().slice(0, MAX_LISTED_FILES),
      failedFiles: [...this.reader.failed.keys()].sort().slice(0, MAX_LISTED_FILES),
      faults: this.reader.faults.snapshot(),
      manifestBytes: this.manifestBytes,
      gets: this.reader.gets,
      fetchedBytes: this.reader.fetchedBytes,
      hitRatio:
        this.reader.bytesRead === 0
          ? null
          : Math.max(0, 1 - this.reader.fetchedBytes / this.reader.bytesRead),
      verification:
        this.reader.failed.size > 0 ? "failed" : this.reader.unverified.size > 0 ? "unverified" : "ok",
      unverifiedCount: this.reader.unverified.size,
      failedCount: this.reader.failed.size,
      previous: this.record.previous
        ? { ...this.record.previous, package: versionLabel({ ...this.record.previous }) }
        : null,
      getattrs: this.handle?.tally.getattrs ?? 0,
      readdirs: this.handle?.tally.readdirs ?? 0,
      forgettings: this.forgettings,
    };
  }

  /** Re-hashes cached objects and fetches and verifies the rest (see MountIntegrity). */
  verify(opts: CheckOptions = {}): Promise<MountCheck> {
    return this.integrity.verify(this.manifest, opts);
  }

  /** Verifies, then evicts each failed object and fetches it again (verified). */
  forceMatch(opts: CheckOptions = {}): Promise<ForceMatchReply> {
    return this.integrity.forceMatch(this.manifest, opts);
  }
}

function rootNames(tree: FsTree): string[] {
  return tree.list(ROOT_INO).map((c) => c.name);
}

/** Keys listed per category in a mount's info (a reply is one socket frame). */
const MAX_LISTED_FILES = 1000;
