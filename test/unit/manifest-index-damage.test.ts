// A version found damaged in a daemon's manifest index (IndexUpkeep installs the removal):
// hidden at once, so nothing trusts the rest, and its records removed in batches with the
// event loop running between them rather than with the daemon's thread held. On a real LMDB
// index, the races that matter: a build of the version started right after the damage (a
// remount) waits for the removal, and a removal asked for while a build of it is under way
// waits for the build and removes none of it.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { IndexUpkeep } from "../../src/daemon/index-upkeep.js";
import { betweenBuilds, openIndexedVersion } from "../../src/daemon/indexed-version.js";
import { IndexedTree } from "../../src/fs/indexed-tree.js";
import { hashValue, type Manifest } from "../../src/manifest/manifest.js";
import { parseRegistryUrl } from "../../src/manifest/registry-url.js";
import { ManifestIndex, versionKey, type VersionId } from "../../src/storage/manifest-index.js";
import { DROP_BATCH_RECORDS } from "../../src/storage/manifest-index-drop.js";
import { PAGE_NODES } from "../../src/storage/manifest-index-records.js";
import { openRegistry, Stores } from "../../src/storage/stores.js";
import { bigManifest, pushBigPackage, type BigPackage } from "../helpers/big-manifest.js";
import { waitFor } from "../helpers/daemon-harness.js";
import { flipByteIn } from "./manifest-index-fixtures.js";

const NAME = "damage/pkg";
/** More records than three batches: a removal takes several turns of the event loop. */
const SHAPE: BigPackage = { files: 60_000, perDir: 600, flat: 2000 };
const manifest: Manifest = bigManifest(SHAPE);
/** The entry whose node is damaged on disk. */
const VICTIM = manifest.entries[30_000]!;

let dir: string;
let index: ManifestIndex;
let upkeep: IndexUpkeep;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "quilt-index-damage-"));
  index = ManifestIndex.open(join(dir, "manifests"));
});

afterEach(async () => {
  await upkeep?.stop();
  await index.close();
  await rm(dir, { recursive: true, force: true });
});

/** The version indexed whole, then one byte of the victim's hash flipped on disk; the index reopened as by a daemon. */
async function damagedVersion(
  id: VersionId,
  build: () => Promise<unknown>,
): Promise<{ records: number; tree: IndexedTree }> {
  await build();
  const records = index.recordCount(id);
  expect(records).toBeGreaterThan(3 * DROP_BATCH_RECORDS);
  await index.close();
  expect(await flipByteIn(join(dir, "manifests"), hashValue(VICTIM))).toBe(1);
  index = ManifestIndex.open(join(dir, "manifests"));
  upkeep = new IndexUpkeep(index, Number.MAX_SAFE_INTEGER, () => []);
  return { records, tree: new IndexedTree(index, versionKey(id), index.header(id)!) };
}

/** A build in this thread that writes one page of file nodes per turn of the event loop, as betweenBuilds runs builds. */
function buildSlowly(id: VersionId): Promise<void> {
  return betweenBuilds(index, versionKey(id), async () => {
    const w = index.writer(id, 1);
    let n = 0;
    for (const e of manifest.entries) {
      w.add(e);
      if (++n % PAGE_NODES === 0) await nextTurn();
    }
    w.finish({ userMeta: manifest.userMeta });
  });
}

function expectWhole(id: VersionId, records: number): void {
  expect(index.header(id)?.files).toBe(SHAPE.files);
  expect(index.recordCount(id)).toBe(records);
  const tree = new IndexedTree(index, versionKey(id), index.header(id)!);
  for (let i = 0; i < manifest.entries.length; i += 997)
    expect(tree.get(manifest.entries[i]!.logicalKey)?.size).toBe(manifest.entries[i]!.size);
  expect(hashValue(tree.get(VICTIM.logicalKey)!)).toBe(hashValue(VICTIM));
}

const localId: VersionId = { registry: "file:///registry", name: NAME, topHash: manifest.topHash };

describe("a damaged version in a daemon's manifest index", () => {
  it("is hidden at once, and its records go in batches with the event loop running between them", async () => {
    const { records, tree } = await damagedVersion(localId, () =>
      Promise.resolve(index.build(localId, manifest)),
    );
    expect(() => tree.get(VICTIM.logicalKey)).toThrow(/damaged record/);
    // In the same turn: not trusted, nothing removed yet but its header, and shown as leftovers being removed.
    expect(index.header(localId)).toBeUndefined();
    expect(index.recordCount(localId)).toBe(records - 1);
    expect(upkeep.stats().leftovers).toEqual({ versions: 1, records: records - 1, removing: 1 });
    let turns = 0;
    while (index.recordCount(localId) > 0) {
      turns++;
      await nextTurn();
    }
    expect(turns).toBeGreaterThan(Math.floor(records / DROP_BATCH_RECORDS));
    await upkeep.stop();
    expect(upkeep.stats().leftovers).toEqual({ versions: 0, records: 0, removing: 0 });
  });

  it("a build started in the same turn (a remount) waits for the removal: no page it writes is removed", async () => {
    const { records, tree } = await damagedVersion(localId, () =>
      Promise.resolve(index.build(localId, manifest)),
    );
    expect(() => tree.get(VICTIM.logicalKey)).toThrow(/damaged record/);
    const atBuild = betweenBuilds(index, versionKey(localId), () =>
      Promise.resolve(index.recordCount(localId)),
    );
    await buildSlowly(localId);
    expect(await atBuild).toBe(0);
    await upkeep.stop();
    expectWhole(localId, records);
  });

  it("found damaged again while it is being built again, the removal waits for the build and removes nothing", async () => {
    const { records, tree } = await damagedVersion(localId, () =>
      Promise.resolve(index.build(localId, manifest)),
    );
    expect(() => tree.get(VICTIM.logicalKey)).toThrow(/damaged record/);
    // The first removal done, a build starts; halfway through, a read of the old tree finds its records gone.
    while (index.recordCount(localId) > 0) await nextTurn();
    const building = buildSlowly(localId);
    while (index.recordCount(localId) < 20) await nextTurn();
    expect(() => index.directories(versionKey(localId))).toThrow(/damaged record/);
    expect(upkeep.stats().leftovers?.removing).toBe(1);
    await building;
    await upkeep.stop();
    expectWhole(localId, records);
    expect(upkeep.stats().leftovers).toEqual({ versions: 0, records: 0, removing: 0 });
  });

  it("remounted from its registry right after the damage, it is indexed again whole from its manifest", async () => {
    const registryDir = join(dir, "registry");
    const topHash = await pushBigPackage(registryDir, NAME, SHAPE);
    const stores = new Stores();
    try {
      const registry = openRegistry(parseRegistryUrl(registryDir), stores, { manifestCacheDir: null });
      const id: VersionId = { registry: registry.manifests.registry, name: NAME, topHash };
      const { records, tree } = await damagedVersion(id, () =>
        openIndexedVersion(index, registry, NAME, topHash),
      );
      expect(() => tree.get(VICTIM.logicalKey)).toThrow(/damaged record/);
      const again = await openIndexedVersion(index, registry, NAME, topHash);
      expect(index.builds).toBe(1);
      expect(hashValue(again.get(VICTIM.logicalKey)!)).toBe(hashValue(VICTIM));
      await upkeep.stop();
      expect(index.recordCount(id)).toBe(records);
    } finally {
      await stores.close();
    }
  });

  it("killed with -9 between two batches of the removal, it leaves nothing trusted; a start removes the rest", async () => {
    const { records } = await damagedVersion(localId, () => Promise.resolve(index.build(localId, manifest)));
    await upkeep.stop();
    await index.close();
    const marker = join(dir, "paused");
    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          "--import",
          "tsx",
          join(import.meta.dirname, "manifest-index-damage-child.ts"),
          join(dir, "manifests"),
          localId.registry,
          localId.name,
          localId.topHash,
          VICTIM.logicalKey,
        ],
        {
          stdio: ["ignore", "inherit", "inherit"],
          env: { ...process.env, QUILT_TEST_PAUSE_AT: "index-drop", QUILT_TEST_PAUSE_MARKER: marker },
        },
      );
      child.on("exit", (code, signal) =>
        signal === "SIGKILL" ? resolve() : reject(new Error(`child exited with ${code}`)),
      );
      waitFor(() => existsSync(marker), 30_000, "the removal to pause between two batches").then(
        () => child.kill("SIGKILL"),
        (err: unknown) => {
          child.kill("SIGKILL");
          reject(err as Error);
        },
      );
    });
    index = ManifestIndex.open(join(dir, "manifests"));
    // Hidden, one batch removed, the rest left: none of it trusted.
    expect(index.header(localId)).toBeUndefined();
    expect(index.versions()).toEqual([]);
    expect(index.recordCount(localId)).toBe(records - 1 - DROP_BATCH_RECORDS);
    expect(index.survey().incomplete.map((v) => v.toString("hex"))).toEqual([
      versionKey(localId).toString("hex"),
    ]);
    upkeep = new IndexUpkeep(index, Number.MAX_SAFE_INTEGER, () => []);
    upkeep.start();
    await upkeep.evict(); // queued behind the start's removal of the leftovers
    expect(index.recordCount(localId)).toBe(0);
    index.build(localId, manifest);
    expectWhole(localId, records);
  });
});
