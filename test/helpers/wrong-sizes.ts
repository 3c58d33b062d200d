// Publishes a version of a real package whose manifest gives some entries another size than
// their objects have (same physical keys, hashes and metadata): what a hand-edited or buggy
// manifest, or an object replaced in an unversioned bucket, looks like to a reader. Sizes
// are covered by the top hash, so this is a new version of its own, under its own tag.
import { Manifest, type ManifestEntry } from "../../src/manifest/manifest.js";
import { parseRegistryUrl } from "../../src/manifest/registry-url.js";
import { Registry } from "../../src/storage/registry.js";
import type { TopHash } from "../../src/types.js";
import type { RegistryAccess } from "./impostor.js";

/** Pushes NAME:TAG, a copy of NAME@topHash with `sizes` (logical key -> size) replacing the real ones. */
export async function pushWithWrongSizes(
  access: RegistryAccess,
  name: string,
  topHash: string,
  sizes: Record<string, number>,
  tag: string,
): Promise<Manifest> {
  const registry = new Registry(parseRegistryUrl(access.registry), access.store);
  const real = await registry.loadManifest({ name, topHash: topHash as TopHash, layout: "v1" });
  const entries: ManifestEntry[] = real.entries.map((e) => ({
    logicalKey: e.logicalKey,
    physicalKey: e.physicalKey,
    size: sizes[e.logicalKey] ?? e.size,
    hash: e.hash,
    meta: e.meta,
  }));
  for (const key of Object.keys(sizes))
    if (!real.has(key)) throw new Error(`wrong-sizes helper: no entry ${key}`);
  const manifest = Manifest.create({ header: real.header, dirMeta: new Map(real.dirMeta), entries });
  await registry.pushManifest(name, manifest, { tag });
  return manifest;
}
