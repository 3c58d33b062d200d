// A mount's integrity checks. verify: cached objects are re-hashed; the rest are fetched and
// verified, or with `cachedOnly` reported as not yet verified (a verify never says "matches"
// for bytes it has not checked). force-match: evict what failed, fetch it again, verified.
// What a verify found broken is remembered until a force-match repairs it.
import type { BlockCache } from "../cache/block-cache.js";
import { cacheObjectForEntry } from "../cache/content-key.js";
import { isQuiltError } from "../errors.js";
import { assertHashType, EntryHasher, verifyHash } from "../manifest/checksums.js";
import type { ManifestEntry } from "../manifest/manifest.js";
import type { Stores } from "../storage/stores.js";
import type { IndexedVersion } from "./indexed-version.js";
import type { MountEntryReader } from "./mount-entry-reader.js";

export interface MountCheck {
  ok: boolean;
  checked: number;
  /** Objects re-hashed in full. */
  rehashed: number;
  failed: { key: string; reason: string }[];
  /** Keys whose bytes were not verified (not cached, with cachedOnly): never reported as matching. */
  unverified: string[];
}

export interface ForceMatchReply {
  /** The check this force-match ran first. */
  before: MountCheck;
  /** What was repaired or tried: this check's failures and those of earlier verifies not yet repaired. */
  failed: { key: string; reason: string }[];
  repaired: string[];
  unrepaired: { key: string; reason: string }[];
}

export interface CheckOptions {
  /** Report objects not cached as unverified instead of fetching them. */
  cachedOnly?: boolean;
  onProgress?: (p: { done: number; total: number }) => void;
}

export class MountIntegrity {
  /** Keys a verify found broken (logical key -> reason), until a force-match repairs them. */
  readonly unrepaired = new Map<string, string>();

  constructor(
    private readonly cache: BlockCache,
    private readonly stores: Stores,
    /** The mount's reader: its verdicts on bytes served (failed, unverified) and its fault counters. */
    private readonly reader: MountEntryReader,
  ) {}

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

  /** Checks every entry of `version` (the one the mount served when the verify started, whatever a switch does meanwhile). */
  async verify(version: IndexedVersion, opts: CheckOptions = {}): Promise<MountCheck> {
    const result: MountCheck = { ok: true, checked: 0, rehashed: 0, failed: [], unverified: [] };
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
  async forceMatch(manifest: IndexedVersion, opts: CheckOptions = {}): Promise<ForceMatchReply> {
    const earlier = new Map(this.unrepaired);
    const before = await this.verify(manifest, opts);
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

/** Bytes per request when an object too large for the cache is verified by streaming. */
const REMOTE_VERIFY_BYTES = 8 * 1024 * 1024;
