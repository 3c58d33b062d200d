// Blocks the index lists whose files are gone: another daemon sharing the data directory
// evicted them, or the directory was deleted under a running cache (`rm -rf
// ~/.cache/quilt-ts`). When one listed block is found missing, its siblings are likely gone
// too, and each would otherwise cost a failed open and a refetch of its whole chunk, which
// could not store the blocks still listed (so they were fetched again by every later read).
// So one listing of the object's directory forgets every listed block that is not there,
// and a missing layout means the whole data directory went: the index starts over, under
// the directory's new identity (data-identity.ts). Nothing is deleted here: the files are
// gone already, and another writer may be re-creating them.
import { mkdir, readdir, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { errnoCode } from "../errors.js";
import { log } from "../log.js";
import { objectDir } from "./block-file.js";
import type { CacheIndex } from "./cache-index.js";
import { dataIdentity } from "./data-identity.js";

export interface LostBlocksHooks {
  /** Blocks of `key` were forgotten: drop what is held of them in memory. */
  forgot(key: string, indexes: readonly number[]): void;
  /** Every block (`count` of them) was forgotten. */
  reset(count: number): void;
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

export class LostBlocks {
  private relayoutRunning: Promise<void> | undefined;

  constructor(
    private readonly layout: string,
    private readonly index: CacheIndex,
    private readonly hooks: LostBlocksHooks,
  ) {}

  /** Block `index` of `key` is listed but its file was not found. */
  async found(key: string, index: number): Promise<void> {
    let names: Set<string>;
    try {
      names = new Set(await readdir(objectDir(this.layout, key)));
    } catch (err) {
      if (errnoCode(err) !== "ENOENT") return this.forget(key, [index]);
      if (!(await exists(this.layout))) return this.relayout();
      names = new Set();
    }
    this.forget(
      key,
      this.index
        .blocksOf(key)
        .filter((b) => !names.has(String(b.index)))
        .map((b) => b.index),
    );
  }

  private forget(key: string, indexes: readonly number[]): void {
    if (indexes.length === 0) return;
    this.index.removeBlocks(key, indexes);
    this.hooks.forgot(key, indexes);
  }

  /** The data directory was deleted: forget every block, make it again, record its new identity. */
  private relayout(): Promise<void> {
    this.relayoutRunning ??= (async () => {
      log().warn({ dir: this.layout }, "cache data directory deleted while in use; its index starts over");
      this.hooks.reset(this.index.totals().blocks);
      // Private when re-created, as at first (src/private-dir.ts).
      await mkdir(dirname(this.layout), { recursive: true, mode: 0o700 });
      await mkdir(this.layout, { recursive: true });
      this.index.matchDataDir(await dataIdentity(dirname(this.layout)));
    })().finally(() => (this.relayoutRunning = undefined));
    return this.relayoutRunning;
  }
}
