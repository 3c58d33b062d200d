// A generated package of many entries in a local registry, for the large-mount test and
// the million-entry benchmark (scripts/bench-million.ts): nested directories of `perDir`
// files (d0000/d0001/f0000123.bin) plus one flat directory of `flat` files (flat/f0000123.bin). Entries point at S3 objects
// that need not exist (nothing is read; only metadata is walked), each with its own
// sha2-256 hash, so the manifest is as large as a real one. `seed` makes versions differ.
import { createHash } from "node:crypto";
import { CompactEntry, EMPTY_META } from "../../src/manifest/compact-entry.js";
import { Manifest } from "../../src/manifest/manifest.js";
import { parseRegistryUrl } from "../../src/manifest/registry-url.js";
import { openRegistry, Stores } from "../../src/storage/stores.js";
import type { LogicalKey, TopHash } from "../../src/types.js";

export interface BigPackage {
  files: number;
  perDir: number;
  flat: number;
  seed?: string;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/** The size of the i-th entry of its directory group (sizes vary, so a walk can check them). */
export function bigEntrySize(i: number): number {
  return i % 4096;
}

/** The entries in walk order (names are zero-padded, so string order is walk order). */
export function bigManifest(p: BigPackage): Manifest {
  const entries: CompactEntry[] = [];
  const nested = p.files - p.flat;
  const seed = p.seed ?? "";
  const add = (key: string, i: number) => {
    const hash = createHash("sha256").update(`${seed}:${key}`).digest("hex");
    entries.push(
      new CompactEntry(
        key as LogicalKey,
        `s3://bench-absent/objects/${key}`,
        bigEntrySize(i),
        "SHA256",
        hash,
        EMPTY_META,
      ),
    );
  };
  for (let i = 0; i < nested; i++) {
    const dir = Math.floor(i / p.perDir);
    add(`d${pad(Math.floor(dir / 100), 4)}/d${pad(dir % 100, 4)}/f${pad(i, 7)}.bin`, i);
  }
  for (let i = 0; i < p.flat; i++) add(`flat/f${pad(i, 7)}.bin`, i);
  return Manifest.create({
    header: new Map([
      ["version", "v0"],
      ["message", `generated ${p.files} entries`],
    ]),
    entries,
  });
}

/** Pushes a generated manifest to a local registry directory; returns its top hash. */
export async function pushBigPackage(
  registryDir: string,
  name: string,
  p: BigPackage,
  tag?: string,
): Promise<TopHash> {
  const stores = new Stores();
  try {
    const registry = openRegistry(parseRegistryUrl(registryDir), stores, { manifestCacheDir: null });
    const { topHash } = await registry.pushManifest(name, bigManifest(p), tag === undefined ? {} : { tag });
    return topHash;
  } finally {
    await stores.close();
  }
}
