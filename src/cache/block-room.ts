// Room under the cache's size limit for the blocks about to be written: the bytes promised
// to writes in flight, the limit now (lowered while the disk is full, size-limit.ts), and
// the eviction that makes room. Room is reserved synchronously (one JS thread) before any
// block file is written, so the limit holds under load: eviction forgets index entries at
// once and hands the files to the block store to delete. Separate from BlockStore, which
// reads, writes and deletes the files this accounting allows.
import type { CacheIndex } from "./cache-index.js";
import type { CacheCounters } from "./cache-stats.js";
import { planEviction, type Pins } from "./eviction.js";
import { SizeLimit } from "./size-limit.js";

export interface BlockRoomParts {
  index: CacheIndex;
  pins: Pins;
  counters: CacheCounters;
  maxBytes: number;
  /** Deletes the evicted blocks' files (and copies in memory) in the background. */
  forget: (key: string, indexes: readonly number[], why: "eviction") => void;
  /** Resolves once the deletions in flight are done. */
  waitForUnlinks: () => Promise<void>;
}

export class BlockRoom {
  private readonly limit: SizeLimit;
  /** Bytes promised to block writes in progress, not yet in the index. */
  private reserved = 0;

  constructor(private readonly p: BlockRoomParts) {
    this.limit = new SizeLimit(p.maxBytes);
  }

  /**
   * Makes room for blocks of `sizes` bytes (in order), evicting as needed; reserves and
   * returns how many of them (a prefix) fit under the limit.
   */
  reserve(sizes: readonly number[]): number {
    const want = sizes.reduce((a, b) => a + b, 0);
    const limit = this.limit.bytes;
    this.evict(this.p.index.totals().bytes + this.reserved + want - limit);
    let room = limit - this.p.index.totals().bytes - this.reserved;
    let fit = 0;
    for (const size of sizes) {
      if (size > room) break;
      room -= size;
      this.reserved += size;
      fit++;
    }
    return fit;
  }

  /** Gives back what reserve() promised, once those blocks are indexed (or failed). */
  release(bytes: number): void {
    this.reserved -= bytes;
  }

  /**
   * The disk filled before the limit: hold to what it holds now (the indexed blocks and the
   * other writes in flight, which found room), so the coldest blocks are evicted to make
   * room. Returns the bytes held.
   */
  diskFull(): number {
    const held = this.p.index.totals().bytes + this.reserved;
    this.limit.diskFull(held);
    return held;
  }

  /** Evicts until the indexed bytes are under the limit (after adopting files found on disk). */
  async settle(): Promise<void> {
    this.evict(this.p.index.totals().bytes + this.reserved - this.limit.bytes);
    await this.p.waitForUnlinks();
  }

  /** Synchronously forgets at least `need` bytes of unpinned blocks; their files are deleted in the background. */
  private evict(need: number): void {
    if (need <= 0) return;
    this.p.index.flushAccess();
    for (const victim of planEviction(this.p.index, need, this.p.pins)) {
      const removed = this.p.index.removeBlocks(victim.key, victim.indexes);
      this.p.counters.evictions += victim.indexes.length;
      this.p.counters.evictedBytes += removed;
      this.p.forget(victim.key, victim.indexes, "eviction");
    }
  }
}
