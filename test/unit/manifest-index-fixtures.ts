// Manifests shared by the manifest index build tests and their crash child.
import { open } from "lmdb";
import type { Manifest } from "../../src/manifest/manifest.js";
import type { VersionId } from "../../src/storage/manifest-index.js";
import { fsManifest, type FileSpec } from "../helpers/fs-fixtures.js";

/** Enough files for several pages of file nodes (256 each), in two directories. */
export function crashManifest(): Manifest {
  return fsManifest(
    Array.from({ length: 1500 }, (_, i): FileSpec => ({
      key: `${i % 2 ? "odd" : "even"}/f${String(i).padStart(5, "0")}.bin`,
      size: i,
    })),
  );
}

export function crashId(m: Manifest): VersionId {
  return { registry: "file:///registry", name: "ns/pkg", topHash: m.topHash };
}

/**
 * Flips one byte of `target` in the record holding it, as a bad sector would, with the index
 * at `path` closed; returns how many records held it.
 */
export async function flipByteIn(path: string, target: string): Promise<number> {
  const raw = open<Buffer, Buffer>({ path, keyEncoding: "binary", encoding: "binary" });
  let flipped = 0;
  for (const { key, value } of raw.getRange({})) {
    const at = value.indexOf(target);
    if (at < 0) continue;
    const copy = Buffer.from(value);
    copy[at] = copy[at] === 0x30 ? 0x31 : 0x30;
    await raw.put(key, copy);
    flipped++;
  }
  await raw.close();
  return flipped;
}
