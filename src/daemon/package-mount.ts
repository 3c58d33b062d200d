// One mounted package version: the manifest's tree served read-only through FUSE, file
// bytes through the shared block cache. Also the mount's integrity checks: verify (cached
// objects are re-hashed; the rest are fetched and verified, or with `cachedOnly` reported as
// not yet verified: a verify never says "matches" for bytes it has not checked) and
// force-match (evict what failed, fetch it again, verified).
import { hostname } from "node:os";
import type { BlockCache } from "../cache/block-cache.js";
import { cacheObjectForEntry } from "../cache/content-key.js";
import { isQuiltError, QuiltError } from "../errors.js";
import { QuiltFilesystem } from "../fs/filesystem.js";
import { mount, type MountHandle } from "../fs/fuse-mount.js";
import { ROOT_INO } from "../fs/inode-tree.js";
import type { FsTree } from "../fs/tree.js";
import { log } from "../log.js";
import type { ManifestEntry } from "../manifest/manifest.js";
import { assertHashType, EntryHasher, verifyHash } from "../manifest/checksums.js";
import type { FaultCounts } from "../storage/fault-counters.js";
import type { Stores } from "../storage/stores.js";
import { MountEntryReader } from "./mount-entry-reader.js";
import { PresenceCounts } from "./presence-counts.js";
import type { IndexedVersion } from "./indexed-version.js";
import type { MountRecord, MountVersion } from "./mount-records.js";
import { versionLabel } from "../manifest/version-label.js";

export interface MountCheck {
  ok: boolean;
  checked: number;
  /** Objects re-hashed in full. */
  rehashed: number;
  failed: { key: string; reason: string }[];
  /** Keys whose bytes were not verified (not cached, with cachedOnly): never reported as matching. */
  unverified: string[];
}

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
  /** Times the daemon's memory bound (QUILT_NAMES_MEMORY) asked the kernel to forget this mount's names. */
  forgettings: number;
}

export interface ForceMatchReply {
  /** The check this force-match ran first. */
  before: MountCheck;
  /** What was repaired or tried: this check's failures and those of earlier verifies not yet repaired. */
  failed: { key: string; reason: string }[];
  repaired: string[];
  unrepaired: { key: string; reason: string }[];
}

export class PackageMount {
  private handle: MountHandle | undefined;
  /** Keys a verify found broken (logical key -> reason), until a force-match repairs them. */
  private readonly unrepaired = new Map<string, string>();
  private readonly reader: MountEntryReader;
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
    for (const key of [...this.reader.failed.keys(), ...this.reader.unverified, ...this.unrepaired.keys()]) {
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
        this.unrepaired.delete(key);
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
      forgettings: this.forgettings,
    };
  }

  /** Checks one object; returns the reason it failed, or undefined; `unverified` when it was not checked. */
  private async checkEntry(
    e: ManifestEntry,
    cachedOnly: boolean,
  ): Promise<{ failure?: string; rehashed: boolean; unverified?: boolean }> {
    if (e.size === 0) return { rehashed: false };
    const obj = cacheObjectForEntry(e);
    if (this.cache.isComplete(obj)) {
      const verdict = await this.cache.verifyObject(obj, { force: true });
      if (verdict === "ok") return { rehashed: true };
      // "incomplete": a block the index lists was missing or failed its checksum on disk (and was deleted).
      return {
        failure:
          verdict === "evicted"
            ? "cached bytes do not match the manifest hash (evicted)"
            : "a cached block is missing or corrupt on disk (deleted)",
        rehashed: true,
      };
    }
    const blocks = await this.cache.checkBlocks(obj);
    if (blocks.bad > 0)
      return { failure: `${blocks.bad} corrupt cached block(s) (deleted)`, rehashed: false };
    const readFailure = this.reader.failed.get(e.logicalKey);
    if (readFailure !== undefined)
      return {
        failure: `its bytes failed the manifest hash when read (reads fail): ${readFailure}`,
        rehashed: false,
      };
    if (cachedOnly) return { rehashed: false, unverified: true };
    try {
      await this.verifyRemote(e);
      return { rehashed: true };
    } catch (err) {
      if (isQuiltError(err, "ENOTFOUND") || isQuiltError(err, "ESTALE"))
        return { failure: `remote object is gone or changed: ${(err as Error).message}`, rehashed: false };
      if (isQuiltError(err, "EHASHMISMATCH"))
        return {
          failure: `remote bytes do not match the manifest hash: ${(err as Error).message}`,
          rehashed: false,
        };
      throw err;
    }
  }

  /**
   * Fetches and verifies an object that is not cached whole: into the cache when it fits
   * (by chunk where digests are known), else streamed through a hasher and dropped.
   */
  private async verifyRemote(e: ManifestEntry): Promise<void> {
    const obj = cacheObjectForEntry(e);
    const src = this.stores.objectSource(e.physicalKey, e.size, this.reader.faults);
    if (e.size <= this.cache.maxBytes / 2) {
      try {
        return await this.cache.ensureVerified(obj, src);
      } catch (err) {
        // No room to hold it whole next to what other checks hold: hash it as it streams.
        if (!isQuiltError(err, "ENOSPACE")) throw err;
      }
    }
    const hasher = new EntryHasher(assertHashType(obj.hash.type), e.size);
    for (let pos = 0; pos < e.size; pos += REMOTE_VERIFY_BYTES) {
      hasher.update(await src.fetch({ start: pos, end: Math.min(e.size, pos + REMOTE_VERIFY_BYTES) }));
    }
    verifyHash(obj.hash, await hasher.digest(), `${e.logicalKey} (${e.physicalKey.toString()})`);
  }

  async verify(
    opts: { cachedOnly?: boolean; onProgress?: (p: { done: number; total: number }) => void } = {},
  ): Promise<MountCheck> {
    const result: MountCheck = { ok: true, checked: 0, rehashed: 0, failed: [], unverified: [] };
    // The version this verify started on, whatever `quilt switch` does meanwhile.
    const version = this.manifest;
    const total = version.size;
    const walk = version.entries();
    const next = () => walk.next().value;
    // Entries with the same content share one cached object: check it once, and report a
    // failure under every key that names it (a second check would find it evicted and pass).
    const byObject = new Map<
      string,
      Promise<{ failure?: string; rehashed: boolean; unverified?: boolean }>
    >();
    const check = (e: ManifestEntry) => {
      const key = e.size > 0 ? cacheObjectForEntry(e).key : undefined;
      let running = key !== undefined ? byObject.get(key) : undefined;
      if (!running) {
        running = this.checkEntry(e, opts.cachedOnly === true).catch((err: unknown) => ({
          failure: (err as Error).message,
          rehashed: false,
        }));
        if (key !== undefined) byObject.set(key, running);
      }
      return running;
    };
    // A few objects at a time: HEADs are latency-bound, re-hashing is CPU-bound.
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let e = next(); e; e = next()) {
          const r = await check(e);
          result.checked++;
          if (r.rehashed) result.rehashed++;
          if (r.failure) result.failed.push({ key: e.logicalKey, reason: r.failure });
          else if (r.unverified) result.unverified.push(e.logicalKey);
          // Cached whole and verified again (a read refetched it): nothing left to repair.
          else if (r.rehashed) this.unrepaired.delete(e.logicalKey);
          opts.onProgress?.({ done: result.checked, total });
        }
      }),
    );
    result.failed.sort((a, b) => (a.key < b.key ? -1 : 1));
    result.unverified.sort();
    result.ok = result.failed.length === 0 && result.unverified.length === 0;
    for (const f of result.failed) this.unrepaired.set(f.key, f.reason);
    return result;
  }

  /** Verifies, then evicts each failed object and fetches it again (verified). */
  async forceMatch(
    opts: { cachedOnly?: boolean; onProgress?: (p: { done: number; total: number }) => void } = {},
  ): Promise<ForceMatchReply> {
    const manifest = this.manifest;
    const earlier = new Map(this.unrepaired);
    const before = await this.verify(opts);
    // What an earlier verify found is repaired too: verify deletes corrupt blocks as it finds
    // them (they must never be served), so this run may see those objects as merely uncached
    // (and fetch them again itself): they are reported, and fetched again, all the same.
    const failed = [...before.failed];
    const seen = new Set(failed.map((f) => f.key));
    for (const [key, reason] of earlier) if (!seen.has(key)) failed.push({ key, reason });
    failed.sort((a, b) => (a.key < b.key ? -1 : 1));
    const repaired: string[] = [];
    const unrepaired: { key: string; reason: string }[] = [];
    // One eviction and refetch per object, however many keys share it.
    const refetched = new Map<string, Promise<void>>();
    for (const f of failed) {
      const e = manifest.get(f.key);
      // Switched away meanwhile: that key's bytes are not this version's to repair.
      if (e === undefined) continue;
      const obj = cacheObjectForEntry(e);
      let running = refetched.get(obj.key);
      if (!running) {
        running = this.refetch(e);
        refetched.set(obj.key, running);
      }
      try {
        await running;
        repaired.push(f.key);
        this.unrepaired.delete(f.key);
      } catch (err) {
        unrepaired.push({ key: f.key, reason: (err as Error).message });
      }
    }
    return { before, failed, repaired, unrepaired };
  }

  /** Evicts an entry's object and fetches it again, verified; throws unless the new bytes verify. */
  private async refetch(e: ManifestEntry): Promise<void> {
    const obj = cacheObjectForEntry(e);
    await this.cache.evictObject(obj, this.stores.objectSource(e.physicalKey, e.size));
    this.reader.failed.delete(e.logicalKey);
    this.reader.unverified.delete(e.logicalKey);
    // Nothing to fetch for an empty file; an object too large to hold whole is verified as
    // it streams, and its bad blocks are gone (reads fetch them again).
    if (e.size === 0) return;
    await this.verifyRemote(e);
  }
}

function rootNames(tree: FsTree): string[] {
  return tree.list(ROOT_INO).map((c) => c.name);
}

/** Keys listed per category in a mount's info (a reply is one socket frame). */
const MAX_LISTED_FILES = 1000;
/** Bytes per request when an object too large for the cache is verified by streaming. */
const REMOTE_VERIFY_BYTES = 8 * 1024 * 1024;
