// Temporary files a killed writer left in the manifest cache. A fetched manifest is written
// beside its final name while the index build parses it (manifest-cache.ts), and a pushed one
// while it is checked (manifest-file.ts); both are renamed into place only once verified and
// removed on any failure, but a process killed in between (kill -9, a node's power) leaves
// the hidden file: up to a few hundred MB for a million-entry manifest. Nothing ever reads
// one (only the final names are), so a starting daemon removes those old enough that no live
// writer can still own them: a writer renames or removes its file within the one command
// that made it, and a day is far beyond any push or build.
import type { Dirent } from "node:fs";
import { readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";

/** The names manifest-cache.ts and manifest-file.ts give their temporary files. */
const TEMP_NAME = /^\.[0-9a-f]{12}\.(?:push\.)?tmp$/;

/** How old a temporary file must be (by its mtime) before it is taken for a dead writer's. */
export const STALE_TEMP_AGE_MS = 24 * 60 * 60 * 1000;

async function dirs(path: string): Promise<string[]> {
  const entries: Dirent[] = await readdir(path, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => join(path, e.name));
}

/**
 * Removes stale temporary files from a manifest cache (`<root>/<registry id>/<ns>/<name>/`);
 * resolves to how many. A directory that cannot be read is skipped, never an error.
 */
export async function removeStaleManifestTemps(
  root: string,
  now = Date.now(),
  maxAgeMs = STALE_TEMP_AGE_MS,
): Promise<number> {
  let removed = 0;
  for (const registry of await dirs(root))
    for (const ns of await dirs(registry))
      for (const pkg of await dirs(ns)) {
        const names = await readdir(pkg).catch(() => [] as string[]);
        for (const name of names) {
          if (!TEMP_NAME.test(name)) continue;
          const path = join(pkg, name);
          const st = await stat(path).catch(() => undefined);
          if (st === undefined || !st.isFile() || now - st.mtimeMs < maxAgeMs) continue;
          await rm(path, { force: true });
          removed++;
        }
      }
  return removed;
}
