// What a registry holds, as quilt3's list_packages and list_package_versions see it: the
// package names (from the pointer directories of both layouts) and a package's versions
// with the pointers naming each.
import type { TopHash } from "../types.js";
import { packageNameFromV2, V1_POINTERS, V2_TAGS } from "./registry-layout.js";
import { isTimestamp, LATEST, readPointers, type RegistryRoot } from "./registry-pointers.js";

export interface VersionInfo {
  topHash: TopHash;
  /** Every pointer naming this hash: timestamps, "latest" and named tags. */
  pointers: string[];
  /** Named tags (pointers that are neither "latest" nor a timestamp). */
  tags: string[];
  /** From the newest timestamp pointer, when there is one. */
  time?: Date;
}

/** Every version of a package with the pointers that name it, newest first. */
export async function listVersions(root: RegistryRoot, name: string): Promise<VersionInfo[]> {
  const byHash = new Map<string, VersionInfo>();
  for (const { pointer, topHash } of await readPointers(root, name)) {
    const v = byHash.get(topHash) ?? { topHash, pointers: [], tags: [] };
    v.pointers.push(pointer);
    if (isTimestamp(pointer)) {
      const t = new Date(Number(pointer) * 1000);
      if (!v.time || t > v.time) v.time = t;
    } else if (pointer !== LATEST) v.tags.push(pointer);
    byHash.set(topHash, v);
  }
  return [...byHash.values()].sort((a, b) => (b.time?.getTime() ?? 0) - (a.time?.getTime() ?? 0));
}

/** Package names ("ns/name") in the registry, sorted. */
export async function listPackages(root: RegistryRoot): Promise<string[]> {
  const names = new Set<string>();
  for await (const ns of root.store.list(root.bucket, V1_POINTERS, { delimiter: "/" })) {
    if (ns.kind !== "prefix") continue;
    for await (const pkg of root.store.list(root.bucket, ns.prefix, { delimiter: "/" })) {
      if (pkg.kind === "prefix") names.add(pkg.prefix.slice(V1_POINTERS.length, -1));
    }
  }
  for await (const e of root.store.list(root.bucket, V2_TAGS, { delimiter: "/" })) {
    if (e.kind === "prefix") names.add(packageNameFromV2(e.prefix.slice(V2_TAGS.length, -1)));
  }
  return [...names].sort();
}
