// Deleting from a registry as quilt3's `delete_package` does: a version's pointers (its
// timestamps, the tags naming it, and `latest`, which moves to the newest remaining
// version), one tag, or every pointer of a package. Data objects are never touched, and
// v1 manifests stay (`.quilt/packages/` is shared by every package in the registry, so a
// manifest there may be another package's too); v2 keeps a package's manifests under its
// own name, so they go with it. Pointers go before `latest` is moved, so a crash midway
// leaves `latest` naming a version that is still there.
import { rmdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { QuiltError } from "../errors.js";
import { type TopHash } from "../types.js";
import { quoted } from "../untrusted-text.js";
import type { Registry } from "./registry.js";
import { manifestKey, pointerDir, pointerKey } from "./registry-layout.js";
import { isTimestamp, LATEST, readPointers } from "./registry-pointers.js";

export interface DeletedVersion {
  /** The pointers deleted (timestamps, tags, and `latest` when it named the version). */
  deleted: string[];
  /** Where `latest` points now, when it pointed at the deleted version; null when no version is left. */
  latest?: TopHash | null;
}

function notFound(registry: Registry, what: string, name: string): QuiltError {
  return new QuiltError("ENOTFOUND", `No ${what} of ${name} in registry ${registry.url.url}`, {
    hint: `\`quilt log ${name}\` lists its versions and tags`,
  });
}

async function remove(registry: Registry, key: string): Promise<void> {
  await registry.store.delete({ bucket: registry.bucket, key });
}

/**
 * A local registry keeps a package's pointers in directories of its own; quilt3 lists
 * packages by listing those directories, so an empty one would still show as a package.
 * Each is removed only if empty, innermost first.
 */
async function pruneEmptyDirs(registry: Registry, name: string, v2Hashes: Iterable<TopHash>): Promise<void> {
  if (registry.url.kind !== "file") return;
  const v1 = pointerDir("v1", name).slice(0, -1);
  const v2Manifests = dirname(manifestKey("v2", name, "x"));
  const dirs = [
    v1,
    dirname(v1),
    pointerDir("v2", name).slice(0, -1),
    ...[...v2Hashes].map((h) => join(v2Manifests, h)),
    v2Manifests,
  ];
  for (const dir of dirs) await rmdir(join(registry.bucket, dir)).catch(() => undefined);
}

/** Deletes every pointer naming `topHash` and moves `latest` to the newest remaining version. */
export async function deleteVersion(
  registry: Registry,
  name: string,
  topHash: TopHash,
): Promise<DeletedVersion> {
  const all = await readPointers(registry, name);
  const doomed = all.filter((p) => p.topHash === topHash);
  if (doomed.length === 0) throw notFound(registry, `version ${topHash.slice(0, 12)}`, name);
  for (const p of doomed.filter((p) => p.pointer !== LATEST)) {
    await remove(registry, pointerKey(p.layout, name, p.pointer));
  }
  const result: DeletedVersion = { deleted: doomed.map((p) => p.pointer) };
  const latest = doomed.find((p) => p.pointer === LATEST);
  if (latest) {
    // The newest remaining timestamp names the new latest (quilt3 compares the names).
    const newest = all
      .filter((p) => p.topHash !== topHash && isTimestamp(p.pointer))
      .sort((a, b) => Number(b.pointer) - Number(a.pointer))[0];
    if (newest) {
      await registry.writePointer(name, LATEST, newest.topHash, latest.layout);
      result.latest = newest.topHash;
    } else {
      await remove(registry, pointerKey(latest.layout, name, LATEST));
      result.latest = null;
    }
  }
  const inV2 = doomed.some((p) => p.layout === "v2");
  if (inV2) await remove(registry, manifestKey("v2", name, topHash));
  await pruneEmptyDirs(registry, name, inV2 ? [topHash] : []);
  return result;
}

/** Deletes one named tag; the version it named stays, with its other pointers. */
export async function deleteTag(registry: Registry, name: string, tag: string): Promise<TopHash> {
  if (tag === LATEST || isTimestamp(tag)) {
    throw new QuiltError("EUSAGE", `${quoted(tag)} is not a tag that can be deleted on its own`, {
      hint: `\`latest\` and timestamps follow the versions: delete the version instead (\`quilt delete ${name}@HASH\`)`,
    });
  }
  const p = (await readPointers(registry, name)).find((x) => x.pointer === tag);
  if (!p) throw notFound(registry, `tag ${quoted(tag)}`, name);
  await remove(registry, pointerKey(p.layout, name, tag));
  return p.topHash;
}

/** Deletes every pointer of the package (and its v2 manifests); returns the pointers deleted. */
export async function deleteAllPointers(registry: Registry, name: string): Promise<string[]> {
  const all = await readPointers(registry, name);
  if (all.length === 0) throw notFound(registry, "version", name);
  // `latest` last: until then a reader still finds a version that is there.
  const ordered = [...all.filter((p) => p.pointer !== LATEST), ...all.filter((p) => p.pointer === LATEST)];
  for (const p of ordered) await remove(registry, pointerKey(p.layout, name, p.pointer));
  const v2Hashes = new Set(all.filter((p) => p.layout === "v2").map((p) => p.topHash));
  for (const topHash of v2Hashes) await remove(registry, manifestKey("v2", name, topHash));
  await pruneEmptyDirs(registry, name, v2Hashes);
  return ordered.map((p) => p.pointer);
}
