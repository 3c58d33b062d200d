// The data directory is the truth and may be shared: a second cache with its own index serves
// what the first one fetched without fetching (after checking each block), a lost index is
// rebuilt from the files, and leftovers of crashed writers are cleaned up.
import { mkdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BlockCache, type BlockCacheOptions } from "../../src/cache/block-cache.js";
import { HEADER_BYTES, layoutDir, objectDir } from "../../src/cache/block-file.js";
import { bytesOnDisk, filesUnder, KiB, remoteObject, tempDir, flipByte } from "./cache-fixtures.js";

const BS = 4 * KiB;
let dir: { path: string; cleanup: () => Promise<void> };
let caches: BlockCache[] = [];

async function openCache(indexName: string, opts: Partial<BlockCacheOptions> = {}): Promise<BlockCache> {
  const cache = await BlockCache.open({
    dataDir: join(dir.path, "data"),
    indexDir: join(dir.path, indexName),
    maxBytes: 1000 * BS,
    blockSize: BS,
    wholeObjectBytes: 2 * BS,
    ...opts,
  });
  caches.push(cache);
  return cache;
}

beforeEach(async () => {
  dir = await tempDir("shared");
  caches = [];
});
afterEach(async () => {
  for (const c of caches) await c.close();
  await dir.cleanup();
});

describe("BlockCache shared data directory", () => {
  it("a second daemon with its own index serves what the first fetched, with zero fetches", async () => {
    const small = await remoteObject(BS + 10); // fetched whole and verified
    const large = await remoteObject(9 * BS + 1); // fetched by blocks
    const a = await openCache("index-a");
    const b = await openCache("index-b", { reconcile: "never" });
    await a.read(small.obj, 0, small.data.length, small.remote.fetch);
    await a.read(large.obj, 0, large.data.length, large.remote.fetch);
    await a.idle(); // the large one verified whole, its digests written beside the blocks
    small.remote.reset();
    large.remote.reset();

    expect(
      (await b.read(large.obj, 5, 3 * BS, large.remote.fetch)).equals(large.data.subarray(5, 5 + 3 * BS)),
    ).toBe(true);
    expect((await b.read(large.obj, 0, large.data.length, large.remote.fetch)).equals(large.data)).toBe(true);
    expect((await b.read(small.obj, 3, 100, small.remote.fetch)).equals(small.data.subarray(3, 103))).toBe(
      true,
    );
    expect(small.remote.requests.length + large.remote.requests.length).toBe(0);
    // b adopted the blocks into its own index, checked them, and verified the objects.
    expect(b.stats()).toMatchObject({ blocks: 12, objects: 2, bytes: a.stats().bytes, fetchRequests: 0 });
    expect(b.objectState(large.obj)).toMatchObject({ present: 10, verified: true });
    expect(b.objectState(small.obj)).toMatchObject({ present: 2, verified: true });
  });

  it("the second daemon refetches a block that fails its check instead of serving it", async () => {
    const { data, obj, remote } = await remoteObject(4 * BS);
    const a = await openCache("index-a");
    const b = await openCache("index-b", { reconcile: "never" });
    await a.read(obj, 0, data.length, remote.fetch);
    await a.idle();
    const file = join(objectDir(layoutDir(join(dir.path, "data"), BS), obj.key), "3");
    const bytes = await readFile(file);
    flipByte(bytes, bytes.length - 1, 0x80);
    await writeFile(file, bytes);
    remote.reset();
    expect((await b.read(obj, 0, data.length, remote.fetch)).equals(data)).toBe(true);
    // The bad block's chunk is fetched again (the unit of verification), not served.
    expect(remote.requests).toEqual([{ start: 0, end: 4 * BS }]);
    expect(b.stats().corruptBlocks).toBe(1);
  });

  it("clear deletes only the blocks its own index lists; with all, every block of the shared directory", async () => {
    const mine = await remoteObject(5 * BS + 3);
    const theirs = await remoteObject(3 * BS);
    const a = await openCache("index-a", { reconcile: "wait" });
    const b = await openCache("index-b", { reconcile: "wait" });
    await a.read(mine.obj, 0, mine.data.length, mine.remote.fetch);
    await b.read(theirs.obj, 0, theirs.data.length, theirs.remote.fetch);
    await a.idle();
    await b.idle();
    const layout = layoutDir(join(dir.path, "data"), BS);
    const theirFiles = (await filesUnder(objectDir(layout, theirs.obj.key))).map((f) => f.path).sort();
    expect(theirFiles).toHaveLength(3);

    await a.clear();
    expect(a.stats()).toMatchObject({ blocks: 0, objects: 0, bytes: 0 });
    expect(await filesUnder(objectDir(layout, mine.obj.key))).toEqual([]);
    expect((await filesUnder(layout)).map((f) => f.path).sort()).toEqual(theirFiles);
    theirs.remote.reset();
    expect((await b.read(theirs.obj, 0, theirs.data.length, theirs.remote.fetch)).equals(theirs.data)).toBe(
      true,
    );
    expect(theirs.remote.requests).toHaveLength(0);

    await a.read(mine.obj, 0, mine.data.length, mine.remote.fetch);
    await a.idle();
    await b.clear({ all: true });
    expect(await filesUnder(layout)).toEqual([]);
    // a's index still lists its blocks: its reads stay right (from memory, or fetched again).
    expect((await a.read(mine.obj, 0, mine.data.length, mine.remote.fetch)).equals(mine.data)).toBe(true);
  });

  it("clear forgets the blocks it adopted from another daemon but leaves their files", async () => {
    const theirs = await remoteObject(3 * BS);
    const a = await openCache("index-a");
    await a.read(theirs.obj, 0, theirs.data.length, theirs.remote.fetch);
    await a.idle();
    // A new index adopts every file at its first open (a reconcile), and b reads them.
    const b = await openCache("index-b", { reconcile: "wait" });
    expect(b.stats().blocks).toBe(3);
    theirs.remote.reset();
    expect((await b.read(theirs.obj, 0, theirs.data.length, theirs.remote.fetch)).equals(theirs.data)).toBe(
      true,
    );
    expect(theirs.remote.requests).toHaveLength(0);

    await b.clear();
    expect(b.stats()).toMatchObject({ blocks: 0, objects: 0 });
    expect(await filesUnder(objectDir(layoutDir(join(dir.path, "data"), BS), theirs.obj.key))).toHaveLength(
      3,
    );
    expect((await a.read(theirs.obj, 0, theirs.data.length, theirs.remote.fetch)).equals(theirs.data)).toBe(
      true,
    );
    expect(theirs.remote.requests).toHaveLength(0);
  });

  it("rebuilds a deleted index from the data files and reuses the data", async () => {
    const objects = await Promise.all([3 * BS, 5 * BS + 7, BS].map((n) => remoteObject(n)));
    let cache = await openCache("index");
    for (const o of objects) await cache.read(o.obj, 0, o.data.length, o.remote.fetch);
    const before = cache.stats();
    await cache.close();
    await rm(join(dir.path, "index"), { recursive: true });

    cache = await openCache("index", { reconcile: "wait" });
    expect(cache.stats()).toMatchObject({ bytes: before.bytes, blocks: before.blocks, objects: 3 });
    for (const o of objects) {
      o.remote.reset();
      expect((await cache.read(o.obj, 0, o.data.length, o.remote.fetch)).equals(o.data)).toBe(true);
      expect(o.remote.requests).toHaveLength(0);
    }
  });

  it("discards an index made for another block size and rebuilds it", async () => {
    const { data, obj, remote } = await remoteObject(3 * BS);
    let cache = await openCache("index");
    await cache.read(obj, 0, data.length, remote.fetch);
    await cache.close();
    // Another block size is another layout: nothing of the old one is counted or served.
    cache = await openCache("index", { blockSize: 2 * BS, reconcile: "wait" });
    expect(cache.stats()).toMatchObject({ blocks: 0, objects: 0, bytes: 0 });
    await cache.close();
    cache = await openCache("index", { reconcile: "wait" });
    expect(cache.stats()).toMatchObject({ blocks: 3, objects: 1 });
    remote.reset();
    expect((await cache.read(obj, 0, data.length, remote.fetch)).equals(data)).toBe(true);
    expect(remote.requests).toHaveLength(0);
  });

  it("reconcile adopts orphan files within the limit and removes stale temp files and junk", async () => {
    const objects = await Promise.all([4 * BS, 4 * BS, 4 * BS].map((n) => remoteObject(n)));
    const writer = await openCache("index-w");
    for (const o of objects) await writer.read(o.obj, 0, o.data.length, o.remote.fetch);
    await writer.idle();
    const layout = layoutDir(join(dir.path, "data"), BS);
    const someDir = objectDir(layout, objects[0]?.obj.key ?? "");
    const stale = join(someDir, ".7.123.abcdef.tmp");
    const fresh = join(someDir, ".8.123.abcdef.tmp");
    await writeFile(stale, "partial");
    await utimes(stale, new Date(Date.now() - 2 * 3600_000), new Date(Date.now() - 2 * 3600_000));
    await writeFile(fresh, "partial");
    const junk = join(objectDir(layout, objects[1]?.obj.key ?? ""), "9");
    await mkdir(dirname(junk), { recursive: true });
    await writeFile(junk, "not a block");

    // A fresh index with room for only two objects: it adopts everything it finds, then evicts down to the limit.
    const limit = 8 * (HEADER_BYTES + BS);
    const reader = await openCache("index-r", { reconcile: "never", maxBytes: limit });
    const result = await reader.reconcile();
    expect(result).toEqual({ adopted: 12, removed: 2 });
    expect(reader.stats().bytes).toBe(limit);
    const names = (await filesUnder(layout)).map((f) => f.path);
    expect(names).toContain(fresh);
    expect(names).not.toContain(stale);
    expect(names).not.toContain(junk);
    expect(await bytesOnDisk(layout)).toBe(limit + "partial".length);
  });

  it("a reconcile removes private copies left by a crash instead of adopting them, and an old layout is deleted", async () => {
    const old = join(dir.path, "data", `v1-b${BS}`, "ab", "ab".padEnd(64, "0"));
    await mkdir(old, { recursive: true });
    await writeFile(join(old, "0"), "unverified bytes of an earlier format");
    const { data, obj, remote } = await remoteObject(6 * BS); // above wholeObjectBytes: streams privately
    const writer = await openCache("index-w");
    await writer.read(obj, 0, 3 * BS, remote.fetch); // half of it: never judged
    await writer.idle();
    expect(writer.objectState(obj).present).toBe(0);
    const privateFiles = (await filesUnder(layoutDir(join(dir.path, "data"), BS))).length;
    expect(privateFiles).toBe(3);
    expect((await filesUnder(join(dir.path, "data", `v1-b${BS}`))).length).toBe(0);

    const reader = await openCache("index-r", { reconcile: "never" });
    expect(await reader.reconcile()).toEqual({ adopted: 0, removed: 3 });
    expect(reader.stats()).toMatchObject({ blocks: 0, objects: 0 });
    remote.reset();
    expect((await reader.read(obj, 0, data.length, remote.fetch)).equals(data)).toBe(true);
    expect(remote.bytesServed).toBe(data.length);
  });
});
