// Rebuilds the index from the data directory: the index is a summary, the block files are
// the truth. Run when the index is new (first start, lost, or discarded as unreadable) or was
// not closed cleanly (a crash between writing a file and indexing it leaves a file nobody
// counts). It reads only headers (64 bytes per file), adopts valid blocks, deletes files
// that are not blocks of this layout and temp files left by crashed writers, so the size
// limit covers everything on disk again. Block data is still checked when it is served.
import { readdir, rmdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { errnoCode } from "../errors.js";
import { log } from "../log.js";
import { isTempName, readBlockHeader } from "./block-file.js";
import type { CacheIndex } from "./cache-index.js";
import { CONTENT_KEY_RE } from "./content-key.js";

/**
 * A temp file younger than this (1 hour) may belong to a writer still running, here or on
 * another host sharing the directory; older ones are leftovers of a crash. A block write
 * takes milliseconds, so an hour leaves room for any clock skew between hosts.
 */
const TEMP_MAX_AGE_MS = 60 * 60 * 1000;

export interface ReconcileResult {
  /** Block files found on disk and added to the index. */
  adopted: number;
  /** Files removed: invalid blocks and stale temp files. */
  removed: number;
}

async function list(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENOTDIR") return [];
    throw err;
  }
}

async function removeQuietly(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch {
    return false;
  }
}

export async function reconcile(
  layout: string,
  index: CacheIndex,
  blockSize: number,
  signal?: AbortSignal,
): Promise<ReconcileResult> {
  const result: ReconcileResult = { adopted: 0, removed: 0 };
  for (const shard of await list(layout)) {
    if (!/^[0-9a-f]{2}$/.test(shard)) continue;
    for (const key of await list(join(layout, shard))) {
      if (signal?.aborted) return result;
      if (!CONTENT_KEY_RE.test(key) || !key.startsWith(shard)) continue;
      await reconcileObject(join(layout, shard, key), key, index, blockSize, result);
    }
  }
  return result;
}

async function reconcileObject(
  dir: string,
  key: string,
  index: CacheIndex,
  blockSize: number,
  result: ReconcileResult,
): Promise<void> {
  const names = await list(dir);
  const found: { index: number; bytes: number; mtime: number }[] = [];
  let objectSize = -1;
  for (const name of names) {
    const path = join(dir, name);
    if (isTempName(name)) {
      const st = await stat(path).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > TEMP_MAX_AGE_MS && (await removeQuietly(path))) result.removed++;
      continue;
    }
    if (!/^(0|[1-9][0-9]*)$/.test(name)) continue;
    const blockIndex = Number(name);
    if (index.blockBytes(key, blockIndex) !== undefined) continue;
    const read = await readBlockHeader(path);
    if (!read) continue;
    const h = read.header;
    // A private copy's files name the content key, not their directory (private-object.ts):
    // unverified bytes nobody will judge after a crash; removed quietly, never adopted.
    if (h && h.key !== key && h.index === blockIndex && h.blockSize === blockSize) {
      if (await removeQuietly(path)) result.removed++;
      continue;
    }
    const valid =
      h &&
      h.key === key &&
      h.index === blockIndex &&
      h.blockSize === blockSize &&
      (objectSize < 0 || h.objectSize === objectSize);
    if (!valid) {
      log().warn({ path }, "invalid cache block file removed during reconcile");
      if (await removeQuietly(path)) result.removed++;
      continue;
    }
    objectSize = h.objectSize;
    const st = await stat(path).catch(() => undefined);
    found.push({ index: blockIndex, bytes: read.fileBytes, mtime: st?.mtimeMs ?? Date.now() });
  }
  if (found.length > 0) {
    // The newest file's time stands in for the last access, so old leftovers are evicted first.
    const atime = Math.max(...found.map((f) => f.mtime));
    result.adopted += found.length;
    index.addBlocks(key, objectSize, found, Math.floor(atime), { adopted: true });
  } else if (names.length === 0) {
    await rmdir(dir).catch(() => undefined);
  }
}
