// Manifests for the filesystem tests: entries from a list of (key, size) with generated
// hashes, physical keys and optional user metadata.
import { fromPlain, type JsonObject, type JsonValue } from "../../src/manifest/json-value.js";
import { parseLogicalKey } from "../../src/manifest/logical-key.js";
import { Manifest, type ManifestEntry } from "../../src/manifest/manifest.js";
import { PhysicalKey } from "../../src/manifest/physical-key.js";

export interface FileSpec {
  key: string;
  size: number;
  /** User metadata (plain JSON). */
  meta?: unknown;
}

export function fsEntry(spec: FileSpec, i = 0): ManifestEntry {
  const meta: JsonObject = new Map();
  if (spec.meta !== undefined) meta.set("user_meta", fromPlain(spec.meta));
  return {
    logicalKey: parseLogicalKey(spec.key),
    physicalKey: PhysicalKey.s3("test-bucket", "data/" + spec.key, `v${i}`),
    size: spec.size,
    hash: new Map<string, JsonValue>([
      ["type", "SHA256"],
      ["value", i.toString(16).padStart(64, "0")],
    ]),
    meta,
  };
}

export function fsManifest(
  files: FileSpec[],
  opts: { dirMeta?: [string, unknown][]; userMeta?: unknown } = {},
): Manifest {
  const header: JsonObject = new Map<string, JsonValue>([["version", "v0"]]);
  if (opts.userMeta !== undefined) header.set("user_meta", fromPlain(opts.userMeta));
  return Manifest.create({
    header,
    dirMeta: new Map((opts.dirMeta ?? []).map(([k, v]) => [k, fromPlain(v)])),
    entries: files.map(fsEntry),
  });
}

/** Nested directories, an empty file, unicode and astral names, names that sort around "/". */
export const SAMPLE_FILES: FileSpec[] = [
  { key: "README.md", size: 1234, meta: { title: "sample" } },
  { key: "empty.txt", size: 0 },
  { key: "data/a.csv", size: 70_000, meta: { rows: 3, tags: ["x", "y"] } },
  { key: "data-b.bin", size: 300_000 },
  { key: "data/nested/deeper/deepest.bin", size: 5000 },
  { key: "data/nested/z.bin", size: 1 },
  {
    key: "images/train/0001.jpg",
    size: 200_000,
    meta: { annotations: [{ bbox: [1, 2, 3, 4], label: "cat" }] },
  },
  { key: "images/train/0002.jpg", size: 150_001 },
  { key: "images/val/0001.jpg", size: 131_072 },
  { key: "unicode/héllo wörld.txt", size: 4321 },
  { key: "unicode/日本語/ファイル.dat", size: 777 },
  { key: "unicode/😀 emoji.bin", size: 65_537 },
  { key: "unicode/\u{E000}private.bin", size: 10 },
  { key: "big/one-mebibyte-plus.bin", size: 1024 * 1024 + 17 },
];
