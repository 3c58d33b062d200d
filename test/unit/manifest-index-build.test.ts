// The manifest index built in one pass from a manifest's bytes, in a worker thread: the same
// version as indexing the parsed manifest, and nothing of a version visible (or left) unless
// its top hash matched, even when the build is killed between its transactions.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openIndexedVersion } from "../../src/daemon/indexed-version.js";
import { IndexedTree } from "../../src/fs/indexed-tree.js";
import type { Manifest } from "../../src/manifest/manifest.js";
import { entryLine, serializeManifest } from "../../src/manifest/manifest-writer.js";
import { manifestJson } from "../../src/manifest/python-json.js";
import { parseRegistryUrl } from "../../src/manifest/registry-url.js";
import { openRegistry, Stores } from "../../src/storage/stores.js";
import { ManifestIndex, versionKey, type VersionId } from "../../src/storage/manifest-index.js";
import { buildFromSource, buildInWorker } from "../../src/storage/manifest-index-build.js";
import { decodeVersionHeader } from "../../src/storage/manifest-index-records.js";
import { fsManifest, SAMPLE_FILES } from "../helpers/fs-fixtures.js";
import { crashId, crashManifest } from "./manifest-index-fixtures.js";

let dir: string;
let index: ManifestIndex;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "quilt-index-build-"));
  index = ManifestIndex.open(join(dir, "manifests"));
});

afterEach(async () => {
  await index.close();
  await rm(dir, { recursive: true, force: true });
});

const sample = () =>
  fsManifest(SAMPLE_FILES, {
    dirMeta: [
      ["data/", { note: "d" }],
      ["empty/sub/", { x: 1.5 }],
    ],
    userMeta: { title: "t" },
  });

function idOf(m: Manifest): VersionId {
  return { registry: "file:///registry", name: "ns/pkg", topHash: m.topHash };
}

/** What a mount reads of every file and directory-metadata line, from the index. */
function readBack(m: Manifest, id = idOf(m)): string[] {
  const header = index.header(id);
  expect(header).toBeDefined();
  const tree = new IndexedTree(index, versionKey(id), header!);
  const files = m.entries.map((e) => entryLine(tree.entry(tree.resolve(e.logicalKey))!));
  const dirs = [...m.dirMeta.keys()].map((k) => manifestJson(tree.dirMeta(tree.resolve(k.slice(0, -1)))!));
  const user = manifestJson(decodeVersionHeader(index.headerBody(versionKey(id))!).userMeta);
  return [...files, ...dirs, user];
}

function expected(m: Manifest): string[] {
  return [
    ...m.entries.map((e) => entryLine(e)),
    ...[...m.dirMeta.values()].map((v) => manifestJson(v)),
    manifestJson(m.userMeta),
  ];
}

const bytesOf = (m: Manifest) => ({ bytes: serializeManifest(m), where: "test" });

describe("manifest index built from a manifest's bytes", () => {
  it("in a worker: the same version as indexing the parsed manifest, and the verified bytes kept with their SHA-256", async () => {
    const m = sample();
    const copy = serializeManifest(m);
    const keepAt = join(dir, "kept", "manifest");
    const built = await buildInWorker(index, idOf(m), { ...bytesOf(m), keepAt });
    expect(index.builds).toBe(1);
    expect(readBack(m)).toEqual(expected(m));
    expect((await readFile(keepAt)).equals(copy)).toBe(true);
    expect(built.sha256).toBe(createHash("sha256").update(copy).digest("hex"));
    expect(await readFile(keepAt + ".sha256", "latin1")).toBe(built.sha256);
    const other = ManifestIndex.open(join(dir, "other"));
    try {
      expect(built.header).toEqual(other.build(idOf(m), m));
    } finally {
      await other.close();
    }
  });

  it("refuses bytes whose top hash is not the version's, leaving no record of it", async () => {
    const m = sample();
    const text = serializeManifest(m).toString("utf8").replace('"size": 1234', '"size": 1235');
    const keepAt = join(dir, "kept", "manifest");
    await expect(
      buildInWorker(index, idOf(m), { bytes: Buffer.from(text), where: "test", keepAt }),
    ).rejects.toMatchObject({ code: "EHASHMISMATCH" });
    // The bytes were being written while they were parsed: nothing of them is left, not even a temporary file.
    expect(readdirSync(join(dir, "kept"))).toEqual([]);
    expect(index.header(idOf(m))).toBeUndefined();
    expect(index.recordCount(idOf(m))).toBe(0);
  });

  it("refuses a cached file that changed since its checksum was written", async () => {
    const m = sample();
    const path = join(dir, "cached");
    await writeFile(path, serializeManifest(m));
    await expect(buildFromSource(index, idOf(m), { path, sha256: "0".repeat(64) })).rejects.toThrow(
      /does not match its checksum/,
    );
    expect(index.recordCount(idOf(m))).toBe(0);
  });

  it("refuses a malformed or duplicated line with its line number, leaving no record", async () => {
    const m = sample();
    const lines = serializeManifest(m).toString("utf8").split("\n");
    const broken = [...lines.slice(0, 3), "{not json", ...lines.slice(3)].join("\n");
    const keepAt = join(dir, "kept", "manifest");
    await expect(
      buildFromSource(index, idOf(m), { bytes: Buffer.from(broken), where: "test", keepAt }),
    ).rejects.toThrow(/line 4/);
    expect(readdirSync(join(dir, "kept"))).toEqual([]);
    const file = lines.findIndex((l) => l.includes("physical_keys"));
    const twice = [...lines.slice(0, file + 1), lines[file], ...lines.slice(file + 1)].join("\n");
    await expect(
      buildFromSource(index, idOf(m), { bytes: Buffer.from(twice), where: "test" }),
    ).rejects.toThrow(new RegExp(`line ${file + 2}: duplicate logical key`));
    expect(index.recordCount(idOf(m))).toBe(0);
  });

  it("hashes lines out of walk order in walk order: the version is found and reads the same", async () => {
    const m = sample();
    const [head, ...rest] = serializeManifest(m).toString("utf8").trimEnd().split("\n");
    const reversed = [head, ...rest.reverse()].join("\n") + "\n";
    await buildFromSource(index, idOf(m), { bytes: Buffer.from(reversed), where: "test" });
    expect(readBack(m)).toEqual(expected(m));
  });

  it("killed (-9) between its transactions, a build leaves no visible version; the next build replaces what it left", async () => {
    const m = crashManifest();
    const id = crashId(m);
    await index.close();
    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          "--import",
          "tsx",
          join(import.meta.dirname, "manifest-index-crash-child.ts"),
          join(dir, "manifests"),
        ],
        { stdio: ["ignore", "inherit", "inherit"] },
      );
      child.on("exit", (code, signal) =>
        signal === "SIGKILL" ? resolve() : reject(new Error(`child exited with ${code}`)),
      );
    });
    index = ManifestIndex.open(join(dir, "manifests"));
    expect(index.recordCount(id)).toBeGreaterThan(1); // pages were committed before the kill
    expect(index.header(id)).toBeUndefined();
    await buildFromSource(index, id, bytesOf(m));
    expect(readBack(m, id)).toEqual(expected(m));
    const fresh = ManifestIndex.open(join(dir, "fresh"));
    try {
      fresh.build(id, m);
      expect(index.recordCount(id)).toBe(fresh.recordCount(id));
    } finally {
      await fresh.close();
    }
  });
});

describe("openIndexedVersion (the daemon's first mount of a version)", () => {
  it("indexes from the registry and keeps the verified bytes; a cached manifest changed since is fetched again, not indexed", async () => {
    const stores = new Stores();
    try {
      const registry = openRegistry(parseRegistryUrl(join(dir, "registry")), stores, {
        manifestCacheDir: join(dir, "manifest-cache"),
      });
      const m = sample();
      const { topHash } = await registry.pushManifest("ns/pkg", m, {});
      const first = await openIndexedVersion(index, registry, "ns/pkg", topHash);
      expect(first.size).toBe(m.size);
      // The bytes the worker verified are now the cached manifest, with their sidecar.
      const cached = (await registry.manifests.cachedFile("ns/pkg", topHash))!;
      const bytes = await readFile(cached.path);
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(cached.sha256);

      // A physical key changed in the cached file (not covered by the top hash): refused by
      // its checksum, fetched again from the registry, and the real key is what is indexed.
      const key = m.entries[0]!.physicalKey.toString();
      await writeFile(cached.path, bytes.toString("utf8").replace(key, key.replace("data/", "evil/")));
      index.drop(versionKey({ registry: registry.manifests.registry, name: "ns/pkg", topHash }));
      const again = await openIndexedVersion(index, registry, "ns/pkg", topHash);
      expect(again.get(m.entries[0]!.logicalKey)?.physicalKey.toString()).toBe(key);
      expect((await readFile(cached.path)).equals(bytes)).toBe(true);
      expect(index.builds).toBe(2); // the refused build is not counted
    } finally {
      await stores.close();
    }
  });

  it("indexes a version once when two mounts of it start at once", async () => {
    const stores = new Stores();
    try {
      const registry = openRegistry(parseRegistryUrl(join(dir, "registry")), stores, {
        manifestCacheDir: null,
      });
      const m = crashManifest();
      const { topHash } = await registry.pushManifest("ns/pkg", m, {});
      const [a, b] = await Promise.all(
        [1, 2].map(() => openIndexedVersion(index, registry, "ns/pkg", topHash)),
      );
      expect(index.builds).toBe(1);
      for (const v of [a!, b!])
        expect([...v.entries()].map((e) => entryLine(e))).toEqual(m.entries.map((e) => entryLine(e)));
    } finally {
      await stores.close();
    }
  });
});
