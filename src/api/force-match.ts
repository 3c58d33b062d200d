// Makes a directory match a manifest with the fewest transfers: extra files are removed,
// modified ones replaced, missing ones added; files already right stay. Every removal is
// of a path inside the directory (links are removed, never followed).
import type { Manifest } from "../manifest/manifest.js";
import type { Stores } from "../storage/stores.js";
import { downloadManifest, type DownloadOptions, type PackageRef } from "./download.js";
import { readInstallState } from "./install-state.js";
import { destPath, removeEntry } from "./safe-path.js";
import { verifyDirectory, type DirectoryVerifyResult } from "./verify-directory.js";

export interface Change {
  kind: "removed" | "replaced" | "added";
  key: string;
  /** For replaced and added: where the bytes came from. */
  source?: string;
}

export async function forceMatch(
  stores: Stores,
  ref: PackageRef,
  manifest: Manifest,
  dir: string,
  opts: Pick<DownloadOptions, "onProgress" | "concurrency" | "paths" | "cache"> & { deep?: boolean } = {},
): Promise<{ changes: Change[]; before: DirectoryVerifyResult }> {
  const before = await verifyDirectory(manifest, dir, await readInstallState(dir), {
    deep: opts.deep,
    paths: opts.paths,
  });
  const changes: Change[] = [];
  for (const key of before.extra) {
    await removeEntry(destPath(dir, key));
    changes.push({ kind: "removed", key });
  }
  // A killed download's temporary files are not the user's: removed without a report line.
  for (const key of before.leftovers) await removeEntry(destPath(dir, key));
  for (const key of before.modified) await removeEntry(destPath(dir, key));
  const result = await downloadManifest(stores, ref, manifest, dir, { ...opts, replaceObstacles: true });
  const modified = new Set(before.modified);
  for (const key of result.fetched) {
    const source = manifest.get(key)?.physicalKey.toString();
    changes.push({
      kind: modified.has(key) ? "replaced" : "added",
      key,
      ...(source !== undefined && { source }),
    });
  }
  return { changes, before };
}

/** The use case's report: "Changes:" then one line per change, paths under `dir`. */
export function formatChanges(changes: Change[], dir: string): string[] {
  const path = (key: string) => `${dir.replace(/\/+$/, "")}/${key}`;
  return [
    "Changes:",
    ...changes.map(
      (c) =>
        `  ${path(c.key)} ${c.kind === "removed" ? "removed" : `${c.kind === "replaced" ? "replaced with" : "added from"} ${c.source ?? "?"}`}`,
    ),
  ];
}
