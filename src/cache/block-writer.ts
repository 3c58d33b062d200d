// Writing fetched blocks into the cache within its size limit: room reserved first
// (block-room.ts), the object's directory made once per process, each block file written
// and then indexed; a write the full disk refused lowers the limit and is tried once more.
// Separate from BlockStore, which reads, moves and deletes what is written here.
import { LRUCache } from "lru-cache";
import { mkdir } from "node:fs/promises";
import { errnoCode } from "../errors.js";
import { log } from "../log.js";
import { HEADER_BYTES, objectDir, writeBlockFile, type BlockHeader } from "./block-file.js";
import type { BlockRoom } from "./block-room.js";
import type { CacheIndex } from "./cache-index.js";
import type { CacheCounters } from "./cache-stats.js";
import type { CacheObject } from "./content-key.js";
import { isDiskFull } from "./size-limit.js";

/** Object directories this process created, so a cold object's first write does not fail on a missing directory first. */
const MADE_DIRS = 10_000;

export interface BlockWriterParts {
  layout: string;
  index: CacheIndex;
  counters: CacheCounters;
  room: BlockRoom;
  header: (obj: CacheObject, index: number) => BlockHeader;
  inIndex: (obj: CacheObject, index: number) => boolean;
  /** Keeps a block written (or already indexed) in the store's memory of checked blocks. */
  remember: (obj: CacheObject, index: number, data: Buffer) => void;
  /** Resolves once the deletions in flight are done: new files wait for them. */
  waitForUnlinks: () => Promise<void>;
}

export class BlockWriter {
  private readonly madeDirs = new LRUCache<string, true>({ max: MADE_DIRS });
  /** Private copies this process wrote: the only ones it may still read. */
  readonly ownPrivate = new Set<string>();

  constructor(private readonly p: BlockWriterParts) {}

  /** `key`'s directory may be gone (its blocks dropped): the next write makes it again. */
  forgetDir(key: string): void {
    this.madeDirs.delete(key);
  }

  forgetDirs(): void {
    this.madeDirs.clear();
  }

  /**
   * Writes fetched blocks (those not already indexed) within the limit and indexes them.
   * Never throws for a disk problem: the data was fetched and is served either way.
   */
  async store(obj: CacheObject, blocks: readonly { index: number; data: Buffer }[]): Promise<void> {
    // Only blocks that end up on disk go to memory: a block held in memory only would be
    // served as cached forever and never written.
    const fresh: { index: number; data: Buffer }[] = [];
    for (const b of blocks) {
      if (this.p.inIndex(obj, b.index)) this.p.remember(obj, b.index, b.data);
      else fresh.push(b);
    }
    const full = await this.write(obj, fresh, false);
    if (full.length === 0) return;
    // The disk filled before the limit (BlockRoom.diskFull): try these once more.
    const held = this.p.room.diskFull();
    log().warn({ dir: this.p.layout, heldBytes: held }, "cache disk full: evicting to make room");
    await this.write(obj, full, true);
  }

  /**
   * Writes `blocks` within the limit and indexes them. Returns those refused for a full disk
   * (unless `last`: then they count as write errors, like any other failure).
   */
  private async write(
    obj: CacheObject,
    blocks: readonly { index: number; data: Buffer }[],
    last: boolean,
  ): Promise<{ index: number; data: Buffer }[]> {
    const sizes = blocks.map((b) => HEADER_BYTES + b.data.length);
    const fit = this.p.room.reserve(sizes);
    const reserved = sizes.slice(0, fit).reduce((a, b) => a + b, 0);
    this.p.counters.uncachedBlocks += blocks.length - fit;
    const full: { index: number; data: Buffer }[] = [];
    try {
      await this.p.waitForUnlinks();
      const written: { index: number; bytes: number }[] = [];
      // A failure here shows again, per block, in writeBlockFile (which creates the directory itself).
      if (fit > 0) await this.makeDir(obj.key).catch(() => undefined);
      await Promise.all(
        blocks.slice(0, fit).map(async (b) => {
          try {
            written.push({
              index: b.index,
              bytes: await writeBlockFile(this.p.layout, this.p.header(obj, b.index), b.data, obj.key),
            });
            this.p.remember(obj, b.index, b.data);
          } catch (err) {
            if (!last && isDiskFull(errnoCode(err))) return void full.push(b);
            this.p.counters.writeErrors++;
            log().warn({ err, key: obj.key, block: b.index }, "cache block write failed");
          }
        }),
      );
      const isPrivate = obj.headerKey !== undefined && obj.headerKey !== obj.key;
      if (isPrivate) this.ownPrivate.add(obj.key);
      this.p.index.addBlocks(obj.key, obj.size, written, Date.now(), { private: isPrivate });
    } finally {
      this.p.room.release(reserved);
    }
    return full;
  }

  /**
   * Creates the directory of `key`'s block files once per process (a plain mkdir: its parent
   * exists but for the first object of each of the 256 prefixes). An eviction may remove it
   * later; writeBlockFile then creates it again.
   */
  private async makeDir(key: string): Promise<void> {
    if (this.madeDirs.has(key)) return;
    const dir = objectDir(this.p.layout, key);
    try {
      await mkdir(dir);
    } catch (err) {
      const code = errnoCode(err);
      if (code === "ENOENT") await mkdir(dir, { recursive: true });
      else if (code !== "EEXIST") throw err;
    }
    this.madeDirs.set(key, true);
  }
}
