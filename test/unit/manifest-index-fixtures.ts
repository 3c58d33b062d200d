// Manifests shared by the manifest index build tests and their crash child.
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
