// Where cached blocks are kept and how the size limit is held: block files on disk (checked
// on every read), the LMDB index that counts them, a small in-memory LRU of recently checked
// blocks, pins, and eviction. It knows nothing about fetching: BlockCache decides what to
// fetch and hands the bytes here. Writing them is block-writer.ts.
//
// The limit holds under load because room is reserved synchronously (one JS thread) before
// any block file is written (block-room.ts): eviction removes index entries at once and the
// new files are written only after the evicted ones are deleted. Blocks that cannot fit
// (everything else is pinned) are served from memory and not kept.
import { LRUCache } from "lru-cache";
import { existsSync } from "node:fs";
import { mkdir, rename, rm, rmdir } from "node:fs/promises";
import { dirname } from "node:path";
import { errnoCode } from "../errors.js";
import { log } from "../log.js";
import { blockLength } from "./block-layout.js";
import { blockPath, objectDir, readBlockFile, removeBlockFile, type BlockHeader } from "./block-file.js";
import type { CacheIndex } from "./cache-index.js";
import type { CacheCounters } from "./cache-stats.js";
import type { CacheObject } from "./content-key.js";
import { Pins } from "./eviction.js";
import { BlockRoom } from "./block-room.js";
import { BlockWriter } from "./block-writer.js";
import { pauseForTest } from "../test-pause.js";
import { LostBlocks } from "./lost-blocks.js";

export interface BlockStoreOptions {
  layout: string;
  index: CacheIndex;
  maxBytes: number;
  blockSize: number;
  /** Bytes of checked blocks kept in memory; 0 disables. */
  memoryBytes: number;
  counters: CacheCounters;
  /**
   * The data directory is on a local disk, where a block the index does not list is looked
   * for with one synchronous stat (microseconds, no error object) before an asynchronous read;
   * on a network filesystem a stat is a round trip and must not block the event loop.
   */
  localDisk: boolean;
}

export class BlockStore {
  readonly pins = new Pins();
  readonly index: CacheIndex;
  readonly layout: string;
  readonly blockSize: number;
  readonly maxBytes: number;
  private readonly room: BlockRoom;
  private readonly counters: CacheCounters;
  private readonly memory: LRUCache<string, Buffer> | undefined;
  /** Deletions in flight; new files wait for them so the disk never holds more than the limit. */
  private readonly unlinks = new Set<Promise<void>>();
  /** One disk read per block at a time. */
  private readonly loading = new Map<string, Promise<Buffer | undefined>>();
  private readonly localDisk: boolean;
  private readonly writer: BlockWriter;
  private readonly lost: LostBlocks;

  constructor(opts: BlockStoreOptions) {
    this.layout = opts.layout;
    this.index = opts.index;
    this.maxBytes = opts.maxBytes;
    this.room = new BlockRoom({
      index: this.index,
      pins: this.pins,
      counters: opts.counters,
      maxBytes: opts.maxBytes,
      forget: (key, indexes, why) => this.forget(key, indexes, why),
      waitForUnlinks: () => this.waitForUnlinks(),
    });
    this.writer = new BlockWriter({
      layout: this.layout,
      index: this.index,
      counters: opts.counters,
      room: this.room,
      header: (obj, index) => this.header(obj, index),
      inIndex: (obj, index) => this.inIndex(obj, index),
      remember: (obj, index, data) => this.remember(obj, index, data),
      waitForUnlinks: () => this.waitForUnlinks(),
    });
    this.lost = new LostBlocks(this.layout, this.index, {
      forgot: (key, indexes) => {
        this.counters.lostBlocks += indexes.length;
        for (const i of indexes) this.memory?.delete(`${key}/${i}`);
        this.writer.forgetDir(key);
      },
      reset: (count) => {
        this.counters.lostBlocks += count;
        this.memory?.clear();
        this.writer.forgetDirs();
      },
    });
    this.blockSize = opts.blockSize;
    this.counters = opts.counters;
    this.localDisk = opts.localDisk;
    this.memory =
      opts.memoryBytes > 0
        ? new LRUCache<string, Buffer>({
            maxSize: opts.memoryBytes,
            sizeCalculation: (b) => Math.max(1, b.length),
          })
        : undefined;
  }

  header(obj: CacheObject, index: number): BlockHeader {
    return {
      blockSize: this.blockSize,
      index,
      objectSize: obj.size,
      dataLength: blockLength(index, obj.size, this.blockSize),
      key: obj.headerKey ?? obj.key,
    };
  }

  path(key: string, index: number): string {
    return blockPath(this.layout, key, index);
  }

  inIndex(obj: CacheObject, index: number): boolean {
    return this.index.blockBytes(obj.key, index) !== undefined;
  }

  remember(obj: CacheObject, index: number, data: Buffer): void {
    this.memory?.set(`${obj.key}/${index}`, data);
  }

  /**
   * A checked block from memory or disk, or undefined when it is not cached. A file the index
   * does not list (written by another daemon sharing the data directory, or before the index
   * was lost) is adopted after its check. A file that fails its check is deleted.
   */
  async local(
    obj: CacheObject,
    index: number,
    opts: { keepInMemory?: boolean; skipMemory?: boolean } = {},
  ): Promise<Buffer | undefined> {
    const id = `${obj.key}/${index}`;
    if (!opts.skipMemory) {
      const hit = this.memory?.get(id);
      if (hit) return hit;
    }
    let loading = this.loading.get(id);
    if (!loading) {
      loading = this.loadFromDisk(obj, index).finally(() => this.loading.delete(id));
      this.loading.set(id, loading);
    }
    const data = await loading;
    if (data && opts.keepInMemory !== false) this.memory?.set(id, data);
    return data;
  }

  private async loadFromDisk(obj: CacheObject, index: number): Promise<Buffer | undefined> {
    const path = this.path(obj.key, index);
    // Every cold block is looked for on disk before it is fetched (another daemon sharing the
    // directory may have written it): a failed asynchronous open costs ~100 µs of CPU, mostly
    // building the error, against ~5 µs for existsSync.
    if (this.localDisk && !this.inIndex(obj, index) && !existsSync(path)) return undefined;
    const result = await readBlockFile(path, this.header(obj, index));
    if (result.status === "ok") {
      if (!this.inIndex(obj, index)) {
        this.index.addBlocks(obj.key, obj.size, [{ index, bytes: result.diskBytes }], Date.now(), {
          adopted: true,
        });
        await this.settleLimit();
      }
      this.index.touch(obj.key, Date.now());
      return result.data;
    }
    if (result.status === "corrupt") {
      this.counters.corruptBlocks++;
      log().warn({ key: obj.key, block: index, reason: result.reason }, "corrupt cache block deleted");
      await this.drop(obj.key, [index]);
    } else if (this.inIndex(obj, index)) {
      await this.lost.found(obj.key, index);
    }
    return undefined;
  }

  /**
   * Writes fetched blocks (those not already indexed) within the limit and indexes them.
   * Never throws for a disk problem: the data was fetched and is served either way.
   */
  store(obj: CacheObject, blocks: readonly { index: number; data: Buffer }[]): Promise<void> {
    return this.writer.store(obj, blocks);
  }

  /** Evicts until the indexed bytes are under the limit (after adopting files found on disk). */
  settleLimit(): Promise<void> {
    return this.room.settle();
  }

  /** Deletes blocks (index, memory, files) now, whether pinned or not: they are bad or unwanted. */
  async drop(key: string, indexes: readonly number[]): Promise<void> {
    this.index.removeBlocks(key, indexes);
    this.forget(key, indexes);
    await this.waitForUnlinks();
  }

  /**
   * Moves block `index` of a verified private copy to its object's content key: a rename of
   * its file (whose header already names the content key) and a transfer in the index, so a
   * verified object is never written twice. False when the private block is gone.
   */
  async moveBlock(priv: CacheObject, obj: CacheObject, index: number): Promise<boolean> {
    const bytes = this.index.blockBytes(priv.key, index);
    if (bytes === undefined) return false;
    // An earlier eviction's unlink of this content-key block must not delete the new file.
    await this.waitForUnlinks();
    const to = this.path(obj.key, index);
    for (let attempt = 0; ; attempt++) {
      try {
        await rename(this.path(priv.key, index), to);
        break;
      } catch (err) {
        // The content key's directory is created lazily and an eviction may remove it.
        if (errnoCode(err) === "ENOENT" && attempt === 0) {
          await mkdir(dirname(to), { recursive: true });
          continue;
        }
        this.index.removeBlocks(priv.key, [index]);
        this.memory?.delete(`${priv.key}/${index}`);
        return false;
      }
    }
    const data = this.memory?.get(`${priv.key}/${index}`);
    this.memory?.delete(`${priv.key}/${index}`);
    this.index.removeBlocks(priv.key, [index]);
    this.index.addBlocks(obj.key, obj.size, [{ index, bytes }], Date.now());
    if (data) this.remember(obj, index, data);
    return true;
  }

  /** Every block of `key`, including files on disk the index does not list (the whole directory goes). */
  async dropObject(obj: Pick<CacheObject, "key">): Promise<void> {
    this.index.removeBlocks(
      obj.key,
      this.index.blocksOf(obj.key).map((b) => b.index),
    );
    const prefix = `${obj.key}/`;
    for (const id of [...(this.memory?.keys() ?? [])]) if (id.startsWith(prefix)) this.memory?.delete(id);
    await this.waitForUnlinks();
    this.writer.forgetDir(obj.key);
    await rm(objectDir(this.layout, obj.key), { recursive: true, force: true });
  }

  /**
   * Deletes the private copies the index lists that this process did not write: another
   * process's, which only that process could read. Safe only when no other live process
   * uses this index (the daemon, once it holds its state directory). Returns how many.
   */
  async dropOrphanPrivateCopies(): Promise<number> {
    const orphans = this.index.privateKeys().filter((key) => !this.writer.ownPrivate.has(key));
    for (const key of orphans) await this.dropObject({ key });
    return orphans.length;
  }

  private forget(key: string, indexes: readonly number[], why?: "eviction"): void {
    for (const i of indexes) {
      this.memory?.delete(`${key}/${i}`);
      const path = this.path(key, i);
      // Test-only (test-pause.ts): the first file goes, the rest wait, so a kill lands mid-eviction.
      const paused = why && this.unlinks.size > 0 ? pauseForTest(why) : undefined;
      const unlink = (paused ? paused.then(() => removeBlockFile(path)) : removeBlockFile(path))
        .catch((err: unknown) => log().warn({ err, key, block: i }, "cache block delete failed"))
        .finally(() => this.unlinks.delete(unlink));
      this.unlinks.add(unlink);
    }
  }

  private async waitForUnlinks(): Promise<void> {
    while (this.unlinks.size > 0) await Promise.all([...this.unlinks]);
  }

  /**
   * Deletes the blocks of the objects this index fetched and wrote, and forgets every block.
   * A shared data directory also holds blocks other daemons wrote (this index may have
   * adopted some): those are theirs, and go only with `all` (the whole layout).
   */
  async clear(opts: { all?: boolean } = {}): Promise<void> {
    const keys = opts.all ? [] : this.index.ownedKeys();
    for (const key of keys)
      this.forget(
        key,
        this.index.blocksOf(key).map((b) => b.index),
      );
    this.index.clear();
    this.memory?.clear();
    this.writer.forgetDirs();
    await this.waitForUnlinks();
    if (opts.all) await rm(this.layout, { recursive: true, force: true });
    // Emptied object directories go too (one still holding another daemon's blocks stays).
    else await Promise.all(keys.map((key) => rmdir(objectDir(this.layout, key)).catch(() => undefined)));
  }

  async drain(): Promise<void> {
    await Promise.allSettled([...this.loading.values()]);
    await this.waitForUnlinks();
  }
}
