// Dropping an indexed version in bounded batches (storage/manifest-index-drop.ts) on a real
// LMDB index: hidden first, then removed a few records per transaction with the event loop
// running between them; a drop cut short leaves nothing trusted and is found and finished
// later (ManifestIndex.survey, IndexUpkeep.start); and a mount of a version being dropped
// (openIndexedVersion) waits for the removal, then indexes it again from its manifest.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { IndexUpkeep } from "../../src/daemon/index-upkeep.js";
import { betweenBuilds, openIndexedVersion } from "../../src/daemon/indexed-version.js";
import { parseRegistryUrl } from "../../src/manifest/registry-url.js";
import { ManifestIndex, versionKey, type VersionId } from "../../src/storage/manifest-index.js";
import { DROP_BATCH_RECORDS, removeInBatches } from "../../src/storage/manifest-index-drop.js";
import { openRegistry, Stores } from "../../src/storage/stores.js";
import { bigManifest, pushBigPackage, type BigPackage } from "../helpers/big-manifest.js";
import { fsManifest, type FileSpec } from "../helpers/fs-fixtures.js";

let dir: string;
let index: ManifestIndex;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "quilt-index-drop-"));
  index = ManifestIndex.open(join(dir, "manifests"));
});

afterEach(async () => {
  await index.close();
  await rm(dir, { recursive: true, force: true });
});

/** A version of 3,000 files in 7 directories: a few dozen records (pages of nodes, children tables). */
function indexed(): { id: VersionId; vid: Buffer; records: number; listing: () => string[] } {
  const manifest = fsManifest(
    Array.from({ length: 3000 }, (_, i): FileSpec => ({ key: `d${i % 7}/f${i}.bin`, size: i })),
  );
  const id: VersionId = { registry: "file:///registry", name: "ns/pkg", topHash: manifest.topHash };
  index.build(id, manifest);
  index.touch(versionKey(id));
  const listing = () => [...index.files(versionKey(id), index.header(id)?.files ?? 0)];
  return { id, vid: versionKey(id), records: index.recordCount(id), listing };
}

describe("removeInBatches", () => {
  it("removes a hidden version a few records per transaction, the event loop running between them", async () => {
    const v = indexed();
    expect(v.records).toBeGreaterThan(20);
    index.hide(v.vid);
    expect(index.header(v.id)).toBeUndefined();
    expect(index.versions()).toEqual([]);
    const hidden = index.recordCount(v.id);
    expect(hidden).toBe(v.records - 1); // its header went first, in its own transaction
    let turns = 0;
    let removing = true;
    const tick = () => {
      turns++;
      if (removing) setImmediate(tick);
    };
    setImmediate(tick);
    const left: number[] = [];
    const done = await removeInBatches(index, v.vid, {
      batchRecords: 4,
      stop: () => {
        left.push(index.recordCount(v.id));
        return false;
      },
    });
    removing = false;
    expect(done).toEqual({ complete: true, transactions: Math.floor(hidden / 4) + 1 });
    // Four records fewer before each batch, never trusted meanwhile, none at the end.
    expect(left).toEqual(Array.from({ length: done.transactions }, (_, i) => Math.max(0, hidden - 4 * i)));
    expect(index.recordCount(v.id)).toBe(0);
    // Other work ran between the transactions.
    expect(turns).toBeGreaterThanOrEqual(done.transactions - 1);
  });

  it("cut short (as by a kill), leaves nothing trusted; survey finds the rest, which goes, and the version indexes again", async () => {
    const v = indexed();
    const before = v.listing();
    index.hide(v.vid);
    let batches = 0;
    const done = await removeInBatches(index, v.vid, { batchRecords: 4, stop: () => batches++ === 2 });
    expect(done.complete).toBe(false);
    const left = index.recordCount(v.id);
    expect(left).toBe(v.records - 1 - 8);
    await index.close();
    index = ManifestIndex.open(join(dir, "manifests"));
    expect(index.header(v.id)).toBeUndefined();
    expect(index.versions()).toEqual([]);
    expect(index.survey().incomplete.map((x) => x.toString("hex"))).toEqual([v.vid.toString("hex")]);
    // A daemon's start removes it in the background; an eviction queued after waits for it.
    const upkeep = new IndexUpkeep(index, Number.MAX_SAFE_INTEGER, () => []);
    upkeep.start();
    await upkeep.evict();
    expect(index.recordCount(v.id)).toBe(0);
    expect(index.survey().incomplete).toEqual([]);
    const again = indexed();
    expect(again.records).toBe(v.records);
    expect(again.listing()).toEqual(before);
  });

  it("drop() of a version larger than one batch removes every record", () => {
    const v = indexed();
    expect(v.records).toBeGreaterThan(DROP_BATCH_RECORDS / 4);
    index.drop(v.vid);
    expect(index.recordCount(v.id)).toBe(0);
  });
});

describe("a mount of a version being dropped", () => {
  const NAME = "drop/pkg";
  /** More records than three batches: the drop takes several turns of the event loop. */
  const SHAPE: BigPackage = { files: 60_000, perDir: 600, flat: 2000 };

  it("waits for the removal, then indexes it again from its manifest: no half-dropped record is read", async () => {
    const registryDir = join(dir, "registry");
    const topHash = await pushBigPackage(registryDir, NAME, SHAPE);
    const stores = new Stores();
    try {
      const registry = openRegistry(parseRegistryUrl(registryDir), stores, { manifestCacheDir: null });
      const first = await openIndexedVersion(index, registry, NAME, topHash);
      const id = first.id;
      index.touch(versionKey(id));
      const records = index.recordCount(id);
      expect(records).toBeGreaterThan(3 * DROP_BATCH_RECORDS);
      const upkeep = new IndexUpkeep(index, 0, () => []);
      const order: string[] = [];
      const evicting = upkeep.evict().then((done) => order.push(`evicted ${done?.dropped.length}`));
      // Between two batches: the version is no longer trusted, and part of it is still there.
      while (index.recordCount(id) === records) await nextTurn();
      expect(index.header(id)).toBeUndefined();
      expect(index.recordCount(id)).toBeGreaterThan(0);
      // What a build of it would find when it starts (builds run betweenBuilds): nothing left.
      const atBuild = betweenBuilds(index, versionKey(id), () => Promise.resolve(index.recordCount(id)));
      const reopening = openIndexedVersion(index, registry, NAME, topHash).then((v) => {
        order.push("reopened");
        return v;
      });
      const [, leftAtBuild, again] = await Promise.all([evicting, atBuild, reopening]);
      expect(leftAtBuild).toBe(0);
      expect(order).toEqual(["evicted 1", "reopened"]);
      expect(index.builds).toBe(2);
      expect(index.recordCount(id)).toBe(records);
      const expected = bigManifest(SHAPE).entries;
      const entries = [...again.entries()];
      expect(entries.length).toBe(expected.length);
      for (let i = 0; i < entries.length; i += 997) {
        expect(entries[i]?.logicalKey).toBe(expected[i]?.logicalKey);
        expect(entries[i]?.size).toBe(expected[i]?.size);
      }
    } finally {
      await stores.close();
    }
  });
});
