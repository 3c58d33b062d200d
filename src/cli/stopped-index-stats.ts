// A stopped daemon's manifest index, read by `quilt cache stats` from the index itself. Apart
// from index-stats.ts, which `quilt daemon status` and the mount commands load, because it
// opens LMDB: a command that only talks to the daemon loads no LMDB
// (test/integration/cli-start-imports.test.ts).
import { existsSync } from "node:fs";
import type { IndexStats } from "../daemon/ops.js";
import { ManifestIndex } from "../storage/manifest-index.js";

/**
 * A stopped daemon's manifest index (null when it has none), read without writing; `maxBytes`
 * is the limit a daemon started with this environment would hold it to.
 */
export async function stoppedIndexStats(dir: string, maxBytes: number): Promise<IndexStats | null> {
  if (!existsSync(dir)) return null;
  const index = ManifestIndex.open(dir);
  try {
    return {
      versions: index.versions().length,
      usedBytes: index.usedBytes(),
      fileBytes: index.fileBytes(),
      maxBytes,
      leftovers: { ...index.headerless(), removing: 0 },
    };
  } finally {
    await index.close();
  }
}
