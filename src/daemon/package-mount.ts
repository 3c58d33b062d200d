// One mounted package version: the manifest's tree served read-only through FUSE, file
// bytes through the shared block cache. Also the mount's integrity checks: verify (cheap
// on a terabyte dataset: cached objects are re-hashed, cached blocks checked, the rest
// asked of S3 with a pinned HEAD) and force-match (evict what failed, fetch it again).
import { hostname } from "node:os";
import type { BlockCache } from "../cache/block-cache.js";
import { cacheObjectForEntry } from "../cache/content-key.js";
import { isQuiltError, QuiltError } from "../errors.js";
import { QuiltFilesystem } from "../fs/filesystem.js";
import { mount, type MountHandle } from "../fs/fuse-mount.js";
import { log } from "../log.js";
import type { Manifest, ManifestEntry } from "../manifest/manifest.js";
import type { Stores } from "../storage/stores.js";
import { CachedEntryReader } from "./cached-entry-reader.js";
import type { MountRecord } from "./mount-records.js";

export interface MountCheck {
  ok: boolean;
  checked: number;
  /** Objects re-hashed in full. */
  rehashed: number;
  failed: { key: string; reason: string }[];
}

export interface MountInfoReply {
  mountpoint: string;
  package: string;
  registry: string;
  topHash: string;
  entries: number;
  totalBytes: number;
  /** Bytes of this package's objects present in the cache. */
  cachedBytes: number;
  bytesRead: number;
  mountedAt: string;
}

export class PackageMount {
  private handle: MountHandle | undefined;
  private readonly reader: CachedEntryReader;

  constructor(
    readonly record: MountRecord,
    readonly manifest: Manifest,
    private readonly cache: BlockCache,
    private readonly stores: Stores,
  ) {
    this.reader = new CachedEntryReader(cache, stores);
  }

  get label(): string {
    return `${this.record.name}${this.record.tag !== undefined ? `:${this.record.tag}` : `@${this.record.topHash.slice(0, 9)}`}`;
  }

  async mount(time: Date): Promise<void> {
    const core = new QuiltFilesystem(this.manifest, this.reader, { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, time, topHash: this.record.topHash });
    this.handle = await mount(core, this.record.mountpoint, {
      name: `${this.record.name}@${this.record.topHash.slice(0, 12)}`,
      ...(this.record.allowOther && { allowOther: true }),
      ...(this.record.nonEmpty && { nonEmpty: true }),
    });
    log().info({ mountpoint: this.record.mountpoint, package: this.label, host: hostname() }, "mounted");
  }

  async unmount(force = false): Promise<void> {
    await this.handle?.unmount({ force });
    this.handle = undefined;
    log().info({ mountpoint: this.record.mountpoint }, "unmounted");
  }

  info(): MountInfoReply {
    let cachedBytes = 0;
    for (const e of this.manifest.entries) {
      const st = this.cache.objectState(cacheObjectForEntry(e));
      cachedBytes += st.blocks === 0 ? 0 : Math.min(e.size, st.present * this.cache.blockSize);
    }
    return {
      mountpoint: this.record.mountpoint,
      package: this.label,
      registry: this.record.registry,
      topHash: this.record.topHash,
      entries: this.manifest.size,
      totalBytes: this.manifest.totalBytes(),
      cachedBytes,
      bytesRead: this.reader.bytesRead,
      mountedAt: this.record.mountedAt,
    };
  }

  /** Checks one object; returns the reason it failed, or undefined. */
  private async checkEntry(e: ManifestEntry, deep: boolean): Promise<{ failure?: string; rehashed: boolean }> {
    const obj = cacheObjectForEntry(e);
    const fetch = this.stores.rangeFetcher(e.physicalKey);
    if (deep && e.size > 0) await this.cache.ensureBlocks(obj, 0, Math.ceil(e.size / this.cache.blockSize) - 1, fetch);
    if (e.size > 0 && this.cache.isComplete(obj)) {
      const verdict = await this.cache.verifyObject(obj, { force: true });
      return verdict === "ok" ? { rehashed: true } : { failure: "cached bytes do not match the manifest hash (evicted)", rehashed: true };
    }
    const blocks = await this.cache.checkBlocks(obj);
    if (blocks.bad > 0) return { failure: `${blocks.bad} corrupt cached block(s) (deleted)`, rehashed: false };
    const { store, loc } = this.stores.forPhysicalKey(e.physicalKey);
    try {
      const head = await store.head(loc);
      if (head.size !== e.size) return { failure: `remote object has ${head.size} bytes, the manifest says ${e.size}`, rehashed: false };
    } catch (err) {
      if (isQuiltError(err, "ENOTFOUND") || isQuiltError(err, "ESTALE")) return { failure: `remote object is gone: ${(err as Error).message}`, rehashed: false };
      throw err;
    }
    return { rehashed: false };
  }

  async verify(opts: { deep?: boolean; onProgress?: (p: { done: number; total: number }) => void } = {}): Promise<MountCheck> {
    const result: MountCheck = { ok: true, checked: 0, rehashed: 0, failed: [] };
    const total = this.manifest.size;
    const entries = [...this.manifest.entries];
    const next = () => entries.shift();
    // A few objects at a time: HEADs are latency-bound, re-hashing is CPU-bound.
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let e = next(); e; e = next()) {
          const r = await this.checkEntry(e, opts.deep === true).catch((err: unknown) => ({ failure: (err as Error).message, rehashed: false }));
          result.checked++;
          if (r.rehashed) result.rehashed++;
          if (r.failure) result.failed.push({ key: e.logicalKey, reason: r.failure });
          opts.onProgress?.({ done: result.checked, total });
        }
      }),
    );
    result.failed.sort((a, b) => (a.key < b.key ? -1 : 1));
    result.ok = result.failed.length === 0;
    return result;
  }

  /** Verifies, then evicts each failed object and fetches it again (verified). */
  async forceMatch(opts: { deep?: boolean } = {}): Promise<{ before: MountCheck; repaired: string[]; unrepaired: { key: string; reason: string }[] }> {
    const before = await this.verify(opts);
    const repaired: string[] = [];
    const unrepaired: { key: string; reason: string }[] = [];
    for (const f of before.failed) {
      const e = this.manifest.get(f.key) as ManifestEntry;
      const obj = cacheObjectForEntry(e);
      await this.cache.evictObject(obj);
      try {
        if (e.size > 0) await this.cache.ensureBlocks(obj, 0, Math.ceil(e.size / this.cache.blockSize) - 1, this.stores.rangeFetcher(e.physicalKey));
        const verdict = await this.cache.verifyObject(obj, { force: true });
        if (verdict !== "ok" && e.size > 0) throw new QuiltError("EHASHMISMATCH", `refetched bytes did not verify (${verdict})`);
        repaired.push(f.key);
      } catch (err) {
        unrepaired.push({ key: f.key, reason: (err as Error).message });
      }
    }
    return { before, repaired, unrepaired };
  }
}
