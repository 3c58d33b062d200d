// manifest-file.ts writes a manifest to be pushed into a file, batch by batch, and reads it
// back as written: the file must hold exactly serializeManifest's bytes (quilt3's) on
// entries that are easy to get wrong, across several batches, with the SHA-256 of those
// bytes; a manifest whose bytes do not give its top hash is refused and leaves no file.
// The registry's push (manifest file, upload, cache) is covered by the push and quilt3 tests.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { isQuiltError } from "../../src/errors.js";
import { parseJson } from "../../src/manifest/json-parse.js";
import type { JsonObject } from "../../src/manifest/json-value.js";
import { Manifest, type ManifestEntry } from "../../src/manifest/manifest.js";
import { serializeManifest } from "../../src/manifest/manifest-writer.js";
import { PhysicalKey } from "../../src/manifest/physical-key.js";
import { ManifestCache } from "../../src/storage/manifest-cache.js";
import { writeManifestFile } from "../../src/storage/manifest-file.js";
import type { LogicalKey } from "../../src/types.js";
import { removeTempDirs, tempDir } from "../helpers/package-fixtures.js";

afterEach(removeTempDirs);
const tempRoot = () => tempDir("quilt-mfile-");

function obj(text: string): JsonObject {
  return parseJson(text) as JsonObject;
}

/** Tricky entries first, then enough plain ones for the bytes to span several batches (1 MiB each). */
function trickyManifest(): Manifest {
  const entries: ManifestEntry[] = [
    {
      logicalKey: "données/été 😀.txt" as LogicalKey,
      physicalKey: PhysicalKey.s3("bucket", "pre fix/été 😀.txt", "v/1+2=="),
      size: 12345678901,
      hash: obj('{"type": "sha2-256-chunked", "value": "LCa0a2j/xo/5m0U8HTBBNBNCLXBkg7+g+YpeiGJm564="}'),
      meta: obj(
        '{"user_meta": {"b": 1.0, "big": 12345678901234567890, "a": [1e+16, -0.5, "\\u00e9\\n"], "z": {}}}',
      ),
    },
    {
      logicalKey: 'a\tb"c\\d' as LogicalKey,
      physicalKey: PhysicalKey.local("/data/a b.txt"),
      size: 0,
      hash: obj('{"type": "SHA256", "value": "e3b0"}'),
      meta: new Map(),
    },
  ];
  for (let i = 0; i < 16_000; i++) {
    entries.push({
      logicalKey: `many/f${String(i).padStart(6, "0")}.bin` as LogicalKey,
      physicalKey: PhysicalKey.s3("bucket", `many/f${i}.bin`),
      size: i,
      hash: obj(`{"type": "sha2-256-chunked", "value": "v${i}"}`),
      meta: i % 1000 === 0 ? obj(`{"user_meta": {"i": ${i}.0}}`) : new Map(),
    });
  }
  return Manifest.create({
    header: obj(
      '{"version": "v0", "message": "été\\u0000", "user_meta": {"scale": 2.0, "n": 9007199254740993}}',
    ),
    dirMeta: new Map([["données/", obj('{"split": "train", "w": 0.5}')]]),
    entries,
  });
}

describe("writeManifestFile", () => {
  it("writes serializeManifest's bytes, over several batches, with their SHA-256", async () => {
    const dir = tempRoot();
    const m = trickyManifest();
    const expected = serializeManifest(m);
    expect(expected.length).toBeGreaterThan(2 << 20);
    const file = await writeManifestFile(m, dir, "test");
    const bytes = readFileSync(file.path);
    expect(bytes.equals(expected)).toBe(true);
    expect(file.sha256).toBe(createHash("sha256").update(expected).digest("hex"));
    await file.discard();
    expect(readdirSync(dir)).toEqual([]);
  });

  it("refuses bytes that do not give the manifest's top hash, and leaves no file", async () => {
    const dir = tempRoot();
    const m = trickyManifest();
    Object.defineProperty(m, "topHash", { value: "0".repeat(64) });
    const err = await writeManifestFile(m, dir, "s3://b/.quilt/packages/x").catch((e: unknown) => e);
    expect(isQuiltError(err, "EHASHMISMATCH")).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("is kept by the manifest cache, which then loads it like a fetched one", async () => {
    const root = tempRoot();
    const m = trickyManifest();
    const cache = new ManifestCache(root, "s3://reg");
    const file = await writeManifestFile(m, await cache.scratchDir("ns/pkg", m.topHash), "test");
    await cache.adopt("ns/pkg", m.topHash, m, file);
    await file.discard();
    // A new cache has nothing in memory: it reads the file and checks its sidecar and top hash.
    const loaded = await new ManifestCache(root, "s3://reg").get("ns/pkg", m.topHash);
    expect(loaded?.topHash).toBe(m.topHash);
    expect(loaded?.size).toBe(m.size);
  });
});
