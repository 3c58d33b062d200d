// The cache's index in LMDB: which blocks are present and their sizes, per-object state
// (blocks present, bytes, last access, verified against the manifest hash) and running totals,
// so the size limit and LRU order are known without walking the data directory.
//
// LMDB must live on a local disk: it relies on mmap coherence and POSIX locks that NFS/EFS do
// not provide. The data files may be shared; this index never is (one per daemon or host).
//
// The index is not the only truth. Block files are self-describing (block-file.ts), so a lost,
// corrupt or stale index is rebuilt from them (reconcile.ts, and lazily on a miss). That is why
// the environment is opened with `noSync`: commits reach the OS at once (a killed process loses
// nothing) and only a power loss can drop recent commits, which costs a rescan, not data.
//
// Structural changes (blocks added or removed) are synchronous transactions (~15 µs without
// fsync), so every later read sees them and totals stay exact even with several processes on
// one index. Access times, which change on every read, are accumulated in memory and written
// in one transaction by flushAccess() (periodically, before eviction and at close).
import { rm } from "node:fs/promises";
import { open, type Database, type RootDatabase } from "lmdb";
import { DigestTable } from "./digest-table.js";
import type { IndexTotals, ObjectRecord } from "./index-records.js";

/** Bump when the index schema changes: an index of another version is discarded and rebuilt. */
const INDEX_FORMAT = 2;
/** Largest block index + 1, to bound range scans over one object's blocks. */
const MAX_INDEX = 2 ** 32;

interface Meta {
  version: number;
  blockSize: number;
}

export interface OpenedIndex {
  index: CacheIndex;
  /** The index is new, was discarded, or was not closed cleanly: data files may be unknown to it. */
  needsReconcile: boolean;
}

export class CacheIndex {
  private readonly root: RootDatabase;
  private readonly meta: Database<unknown, string>;
  private readonly objects: Database<ObjectRecord, string>;
  private readonly blocks: Database<number, [string, number]>;
  private readonly lru: Database<true, [number, string]>;
  /** Chunk digests, which outlive the blocks (digest-table.ts). */
  readonly digests: DigestTable;
  /** Access times not yet written, by content key. */
  private readonly dirty = new Map<string, number>();
  private closed = false;

  private constructor(root: RootDatabase) {
    this.root = root;
    this.meta = root.openDB<unknown, string>("meta", {});
    this.objects = root.openDB<ObjectRecord, string>("objects", {});
    this.blocks = root.openDB<number, [string, number]>("blocks", {});
    this.lru = root.openDB<true, [number, string]>("lru", {});
    this.digests = new DigestTable(root);
  }

  /**
   * Opens (or creates) the index in `dir`. One that fails to open or was made for another
   * format or block size is deleted and started afresh. LMDB trusts its own pages, so a
   * damaged file is not always detected here (it may even hang); deleting the index
   * directory is always safe, since the index is rebuilt from the data files.
   */
  static async open(dir: string, blockSize: number): Promise<OpenedIndex> {
    for (let attempt = 0; ; attempt++) {
      let root: RootDatabase | undefined;
      try {
        root = open({ path: dir, maxDbs: 8, noSync: true });
        const index = new CacheIndex(root);
        const meta = index.meta.get("format") as Meta | undefined;
        const state = index.meta.get("state") as { clean: boolean } | undefined;
        if (meta && (meta.version !== INDEX_FORMAT || meta.blockSize !== blockSize))
          throw new Error("foreign index format");
        const needsReconcile = !meta || !state?.clean;
        root.transactionSync(() => {
          if (!meta) {
            index.meta.put("format", { version: INDEX_FORMAT, blockSize });
            index.meta.put("totals", { bytes: 0, blocks: 0, objects: 0 });
          }
          index.meta.put("state", { clean: false });
        });
        return { index, needsReconcile };
      } catch (err) {
        await root?.close().catch(() => undefined);
        if (attempt > 0) throw err;
        await rm(dir, { recursive: true, force: true });
      }
    }
  }

  object(key: string): ObjectRecord | undefined {
    return this.objects.get(key);
  }

  /** Bytes on disk of block `index` of `key`, or undefined when the index does not list it. */
  blockBytes(key: string, index: number): number | undefined {
    return this.blocks.get([key, index]);
  }

  blocksOf(key: string): { index: number; bytes: number }[] {
    const out: { index: number; bytes: number }[] = [];
    for (const { key: k, value } of this.blocks.getRange({ start: [key, 0], end: [key, MAX_INDEX] })) {
      out.push({ index: k[1], bytes: value });
    }
    return out;
  }

  totals(): IndexTotals {
    return (this.meta.get("totals") as IndexTotals | undefined) ?? { bytes: 0, blocks: 0, objects: 0 };
  }

  /**
   * Records blocks as present; blocks already listed are left alone. Returns the bytes newly
   * counted. `adopted`: the files were found on disk, not written here after verification.
   */
  addBlocks(
    key: string,
    objectSize: number,
    blocks: readonly { index: number; bytes: number }[],
    now: number,
    opts: { adopted?: boolean; private?: boolean } = {},
  ): number {
    if (blocks.length === 0) return 0;
    return this.root.transactionSync(() => {
      const fresh = blocks.filter((b) => this.blocks.get([key, b.index]) === undefined);
      if (fresh.length === 0) return 0;
      const totals = this.totals();
      let rec = this.objects.get(key);
      if (!rec) {
        rec = { size: objectSize, present: 0, bytes: 0, atime: now, verified: false };
        this.lru.put([now, key], true);
        totals.objects++;
      }
      if (opts.adopted) {
        rec.adopted = true;
        rec.verified = false;
        rec.owned ??= false;
      } else {
        rec.owned = true;
      }
      if (opts.private) rec.private = true;
      let added = 0;
      for (const b of fresh) {
        this.blocks.put([key, b.index], b.bytes);
        rec.present++;
        rec.bytes += b.bytes;
        totals.blocks++;
        added += b.bytes;
      }
      totals.bytes += added;
      this.objects.put(key, rec);
      this.meta.put("totals", totals);
      if (fresh.length > 0) this.presenceChanges++;
      return added;
    });
  }

  /**
   * Told of every block this index forgets (evicted, dropped, moved, found missing), so a
   * running hash over a private copy knows when a block it already hashed may come back
   * with other bytes.
   */
  onRemove: ((key: string, indexes: readonly number[]) => void) | undefined;

  /**
   * Bumped whenever a block is listed or forgotten (in this process): a count over many
   * objects' presence (`quilt mounts`) stays valid while it is unchanged.
   */
  presenceChanges = 0;

  /** Forgets blocks (the caller deletes the files). Returns the bytes no longer counted. */
  removeBlocks(key: string, indexes: readonly number[]): number {
    if (indexes.length === 0) return 0;
    this.onRemove?.(key, indexes);
    return this.root.transactionSync(() => {
      const rec = this.objects.get(key);
      if (!rec) return 0;
      const totals = this.totals();
      let removed = 0;
      for (const i of indexes) {
        const bytes = this.blocks.get([key, i]);
        if (bytes === undefined) continue;
        this.blocks.remove([key, i]);
        rec.present--;
        rec.bytes -= bytes;
        totals.blocks--;
        removed += bytes;
      }
      totals.bytes -= removed;
      if (rec.present <= 0) {
        this.objects.remove(key);
        this.lru.remove([rec.atime, key]);
        this.dirty.delete(key);
        totals.objects--;
      } else {
        // The blocks that were verified together are no longer all here.
        rec.verified = false;
        this.objects.put(key, rec);
      }
      this.meta.put("totals", totals);
      this.presenceChanges++;
      return removed;
    });
  }

  /** Verified whole: nothing adopted remains unchecked either. */
  setVerified(key: string, verified: boolean): void {
    this.root.transactionSync(() => {
      const rec = this.objects.get(key);
      if (rec && (rec.verified !== verified || (verified && rec.adopted)))
        this.objects.put(key, { ...rec, verified, adopted: verified ? false : rec.adopted });
    });
  }

  /** Notes an access in memory only; see flushAccess. */
  touch(key: string, now: number): void {
    this.dirty.set(key, now);
  }

  /** Writes the accumulated access times in one transaction, moving objects in the LRU order. */
  flushAccess(): void {
    if (this.dirty.size === 0 || this.closed) return;
    const dirty = [...this.dirty];
    this.dirty.clear();
    this.root.transactionSync(() => {
      for (const [key, atime] of dirty) {
        const rec = this.objects.get(key);
        if (!rec || rec.atime >= atime) continue;
        this.lru.remove([rec.atime, key]);
        this.lru.put([atime, key], true);
        this.objects.put(key, { ...rec, atime });
      }
    });
  }

  /** Keys of the objects this index's owner wrote blocks of (see ObjectRecord.owned). */
  ownedKeys(): string[] {
    const out: string[] = [];
    for (const { key, value } of this.objects.getRange()) if (value.owned ?? !value.adopted) out.push(key);
    return out;
  }

  /** Keys of the private copies listed (see ObjectRecord.private). */
  privateKeys(): string[] {
    const out: string[] = [];
    for (const { key, value } of this.objects.getRange()) if (value.private) out.push(key);
    return out;
  }

  /** Content keys, least recently used first (call flushAccess first for an exact order). */
  *lruKeys(): Generator<string> {
    for (const k of this.lru.getKeys()) yield k[1];
  }

  /** Forgets everything (the caller deletes the files). */
  clear(): void {
    this.dirty.clear();
    this.root.transactionSync(() => {
      this.forgetBlocks();
      this.digests.clearSync();
    });
  }

  private forgetBlocks(): void {
    // A running hash over a private copy must learn that its blocks went (onRemove).
    if (this.onRemove)
      for (const key of this.objects.getKeys())
        this.onRemove(
          key,
          this.blocksOf(key).map((b) => b.index),
        );
    this.objects.clearSync();
    this.blocks.clearSync();
    this.lru.clearSync();
    this.meta.put("totals", { bytes: 0, blocks: 0, objects: 0 });
    this.presenceChanges++;
  }

  /**
   * Records that this index counts the blocks of the data directory whose identity is `id`
   * (data-identity.ts). An index that recorded another id, or none while listing blocks,
   * describes files that are not there: its blocks are forgotten (true is returned; the
   * caller rescans the directory). Chunk digests are kept: they are facts about content
   * (hashed here from bytes that matched their manifest hash), whichever disk holds it.
   */
  matchDataDir(id: string): boolean {
    return this.root.transactionSync(() => {
      const recorded = this.meta.get("dataDir") as string | undefined;
      if (recorded === id) return false;
      this.meta.put("dataDir", id);
      if (recorded === undefined && this.totals().blocks === 0) return false;
      this.dirty.clear();
      this.forgetBlocks();
      return true;
    });
  }

  /** Flushes access times, marks the index clean and closes it. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.flushAccess();
    this.closed = true;
    this.root.transactionSync(() => this.meta.put("state", { clean: true }));
    await this.root.flushed;
    await this.root.close();
  }
}
