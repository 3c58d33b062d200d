// Eviction of indexed versions (storage/manifest-index-eviction.ts) on a real LMDB index:
// least recently used first, kept versions never, down to the size asked, and a dropped
// version indexed again reads as before.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { IndexedTree } from "../../src/fs/indexed-tree.js";
import type { Manifest } from "../../src/manifest/manifest.js";
import { ManifestIndex, versionKey, type VersionId } from "../../src/storage/manifest-index.js";
import { evictVersions } from "../../src/storage/manifest-index-eviction.js";
import { IndexUpkeep } from "../../src/daemon/index-upkeep.js";
import { indexSizeBytes } from "../../src/config.js";
import { fsManifest, type FileSpec } from "../helpers/fs-fixtures.js";

let dir: string;
let index: ManifestIndex;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "quilt-index-eviction-"));
  index = ManifestIndex.open(join(dir, "manifests"));
  vi.useFakeTimers({ toFake: ["Date"] });
});

afterEach(async () => {
  vi.useRealTimers();
  await index.close();
  await rm(dir, { recursive: true, force: true });
});

/** A version of 2,000 files (several pages of nodes, a few hundred KB of records), distinct per `k`. */
function version(k: number): { id: VersionId; manifest: Manifest; hex: string } {
  const manifest = fsManifest(
    Array.from({ length: 2000 }, (_, i): FileSpec => ({ key: `d${i % 7}/v${k}-f${i}.bin`, size: i + k })),
  );
  const id = { registry: "file:///registry", name: "ns/pkg", topHash: manifest.topHash };
  return { id, manifest, hex: versionKey(id).toString("hex") };
}

/** Indexes version k and records it as used at time `at`. */
function indexAt(k: number, at: number) {
  const v = version(k);
  index.build(v.id, v.manifest);
  vi.setSystemTime(at);
  index.touch(versionKey(v.id));
  return v;
}

function listing(v: { id: VersionId }): string[] {
  const header = index.header(v.id);
  if (!header) throw new Error("not indexed");
  const tree = new IndexedTree(index, versionKey(v.id), header);
  const out: string[] = [];
  const walk = (ino: number) => {
    for (const c of tree.list(ino)) {
      out.push(
        `${tree.path(c.ino)} ${tree.sizeOf(c.ino)} ${tree.entry(c.ino)?.physicalKey.toString() ?? "dir"}`,
      );
      walk(c.ino);
    }
  };
  walk(1);
  return out;
}

describe("evictVersions", () => {
  it("drops the least recently used versions first, only until the index fits", async () => {
    const a = indexAt(1, 3000);
    const b = indexAt(2, 1000);
    const c = indexAt(3, 2000);
    const all = index.usedBytes();
    // One version's worth less than all three: only the oldest (b) goes.
    const done = await evictVersions(index, all - 1, new Set());
    expect(done.dropped).toEqual([b.hex]);
    expect(done.usedBytes).toBeLessThan(all);
    expect(done.versions).toBe(2);
    expect(index.header(b.id)).toBeUndefined();
    expect(index.recordCount(b.id)).toBe(0);
    expect(index.header(a.id)).toBeDefined();
    expect(index.header(c.id)).toBeDefined();
    // Under the limit already: nothing more.
    expect((await evictVersions(index, done.usedBytes, new Set())).dropped).toEqual([]);
    // Down to nothing: c (older) before a.
    expect((await evictVersions(index, 0, new Set())).dropped).toEqual([c.hex, a.hex]);
    expect(index.versions()).toEqual([]);
  });

  it("holds the index to the size asked", async () => {
    const vs = [1, 2, 3, 4, 5].map((k) => indexAt(k, 1000 * k));
    const all = index.usedBytes();
    const limit = Math.floor((all * 2) / 5) + 4096;
    const done = await evictVersions(index, limit, new Set());
    expect(done.usedBytes).toBeLessThanOrEqual(limit);
    expect(done.dropped).toEqual(vs.slice(0, done.dropped.length).map((v) => v.hex));
    expect(done.dropped.length).toBeGreaterThanOrEqual(3);
    expect(index.versions().map((v) => v.vid.toString("hex"))).not.toContain(vs[0]?.hex);
  });

  it("never drops a kept version, however old, and it still reads right", async () => {
    const old = indexAt(1, 1000);
    const before = listing(old);
    const recent = indexAt(2, 2000);
    const done = await evictVersions(index, 0, new Set([old.hex]));
    expect(done.dropped).toEqual([recent.hex]);
    expect(listing(old)).toEqual(before);
  });

  it("a version indexed before usage was recorded is given a record by survey, as least recently used, and dropped first", async () => {
    const used = indexAt(1, 1000);
    const unknown = version(2);
    index.build(unknown.id, unknown.manifest);
    // Without a usage record, eviction does not see it: only the recorded version is listed.
    expect(index.versions().map((v) => v.vid.toString("hex"))).toEqual([used.hex]);
    const { adopted, incomplete } = index.survey();
    expect(adopted.map((v) => v.toString("hex"))).toEqual([unknown.hex]);
    expect(incomplete).toEqual([]);
    expect(index.survey().adopted).toEqual([]);
    // Over the bound by less than a version: the one never recorded as used goes, not the other.
    expect((await evictVersions(index, index.usedBytes() - 1, new Set())).dropped).toEqual([unknown.hex]);
    expect(index.header(unknown.id)).toBeUndefined();
    expect(index.recordCount(unknown.id)).toBe(0);
    expect(index.header(used.id)).toBeDefined();
  });

  it("a starting daemon's upkeep finds a version with no usage record: over the bound, it goes first", async () => {
    const unknown = version(2);
    index.build(unknown.id, unknown.manifest);
    const used = indexAt(1, 5000);
    const upkeep = new IndexUpkeep(index, index.usedBytes() - 1, () => []);
    upkeep.start();
    expect((await upkeep.evict())?.dropped).toEqual([unknown.hex]);
    expect(index.header(used.id)).toBeDefined();
    expect(index.recordCount(unknown.id)).toBe(0);
  });

  it("leaves a build in progress alone: only versions with a header are listed", async () => {
    const done = indexAt(1, 1000);
    const building = version(2);
    const w = index.writer(building.id, 1);
    for (const e of building.manifest.entries) w.add(e);
    const partial = index.recordCount(building.id);
    expect(partial).toBeGreaterThan(0);
    expect(index.versions().map((v) => v.vid.toString("hex"))).toEqual([done.hex]);
    expect((await evictVersions(index, 0, new Set())).dropped).toEqual([done.hex]);
    expect(index.recordCount(building.id)).toBe(partial);
    w.finish({ userMeta: new Map() });
    expect(index.header(building.id)).toBeDefined();
  });

  it("a dropped version is indexed again from its manifest and reads as before; freed pages are reused", async () => {
    const vs = [1, 2, 3].map((k) => indexAt(k, 1000 * k));
    const before = vs.map(listing);
    const fileBytes = index.fileBytes();
    expect((await evictVersions(index, 0, new Set())).dropped).toHaveLength(3);
    // LMDB keeps its file at its largest size: the pages are free, not given back.
    expect(index.fileBytes()).toBeGreaterThanOrEqual(fileBytes);
    for (const v of vs) index.build(v.id, v.manifest);
    expect(vs.map(listing)).toEqual(before);
    expect(index.fileBytes()).toBeLessThanOrEqual(fileBytes * 1.25);
  });
});

describe("QUILT_INDEX_SIZE", () => {
  it("is 4 GiB by default, a size when given, and refused with its name when not a size", () => {
    expect(indexSizeBytes({})).toBe(4 * 2 ** 30);
    expect(indexSizeBytes({ QUILT_INDEX_SIZE: "500M" })).toBe(500 * 2 ** 20);
    expect(() => indexSizeBytes({ QUILT_INDEX_SIZE: "lots" })).toThrow(
      expect.objectContaining({
        code: "EUSAGE",
        message: 'Invalid manifest index size QUILT_INDEX_SIZE="lots"',
      }) as Error,
    );
  });
});
