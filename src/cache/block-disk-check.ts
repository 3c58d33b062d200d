// Re-reading an object's indexed blocks from disk, not memory (a mount's verify, for an
// object not re-hashed whole): each file is checked against its header and checksum, and one that is
// corrupt or missing is forgotten and deleted, so the next read fetches it again. Separate
// from BlockStore, which serves blocks; this is a repair pass over what it lists.
import { Limiter } from "../limiter.js";
import { readBlockFile } from "./block-file.js";
import type { BlockStore } from "./block-store.js";
import type { CacheCounters } from "./cache-stats.js";
import type { CacheObject } from "./content-key.js";

export async function checkBlocksOnDisk(
  store: BlockStore,
  counters: CacheCounters,
  obj: CacheObject,
  concurrency: number,
): Promise<{ ok: number; bad: number; missing: number }> {
  const limit = new Limiter(concurrency);
  const counts = { ok: 0, bad: 0, missing: 0 };
  const check = async (index: number) => {
    const r = await readBlockFile(store.path(obj.key, index), store.header(obj, index));
    if (r.status === "ok") return void counts.ok++;
    if (r.status === "corrupt") {
      counts.bad++;
      counters.corruptBlocks++;
    } else {
      counts.missing++;
    }
    await store.drop(obj.key, [index]);
  };
  await Promise.all(store.index.blocksOf(obj.key).map(({ index }) => limit.run(() => check(index))));
  return counts;
}
