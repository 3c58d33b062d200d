// The index and the data directory recognise each other (issue 12, point 4): deleting the
// data directory (`rm -rf ~/.cache/quilt-ts`) while the index under the state directory
// survives, or while a cache runs, costs each lost block one fetch, nothing more: no
// repeated failures, no chunk fetched again for each of its blocks. Real LMDB, real files.
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BlockCache, type BlockCacheOptions } from "../../src/cache/block-cache.js";
import { layoutDir, objectDir } from "../../src/cache/block-file.js";
import { dataIdentity, IDENTITY_FILE } from "../../src/cache/data-identity.js";
import { KiB, MiB, remoteObject, tempDir, type FakeRemote } from "./cache-fixtures.js";

const BS = 256 * KiB;
/** Three 8 MiB verification chunks, the last one short. */
const SIZE = 20 * MiB + 3;
let dir: { path: string; cleanup: () => Promise<void> };
let caches: BlockCache[] = [];

function dataDir(): string {
  return join(dir.path, "data");
}

/** No memory tier: every read of a block goes to its file, as after a daemon restart. */
async function openCache(indexName = "index", opts: Partial<BlockCacheOptions> = {}): Promise<BlockCache> {
  const cache = await BlockCache.open({
    dataDir: dataDir(),
    indexDir: join(dir.path, indexName),
    maxBytes: 1024 * MiB,
    blockSize: BS,
    memoryBytes: 0,
    reconcile: "wait",
    ...opts,
  });
  caches.push(cache);
  return cache;
}

async function closeAll(): Promise<void> {
  for (const c of caches) await c.close();
  caches = [];
}

/** Reads the whole object as a FUSE reader does, 128 KiB at a time, in order. */
async function readLikeFuse(
  cache: BlockCache,
  obj: Parameters<BlockCache["read"]>[0],
  remote: FakeRemote,
): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let off = 0; off < obj.size; off += 128 * KiB)
    parts.push(await cache.read(obj, off, 128 * KiB, remote.fetch));
  return Buffer.concat(parts);
}

/** Fills a cache with the object, verified whole (so its chunk digests are recorded), and closes it. */
async function populated(): Promise<Awaited<ReturnType<typeof remoteObject>>> {
  const o = await remoteObject(SIZE);
  const cache = await openCache();
  expect((await readLikeFuse(cache, o.obj, o.remote)).equals(o.data)).toBe(true);
  await cache.idle();
  expect(cache.objectState(o.obj)).toMatchObject({ present: Math.ceil(SIZE / BS), verified: true });
  await closeAll();
  o.remote.reset();
  return o;
}

beforeEach(async () => {
  dir = await tempDir("identity");
  caches = [];
});
afterEach(async () => {
  await closeAll();
  await dir.cleanup();
});

describe("index and data directory identity", () => {
  it("an index whose data directory was deleted is reset at open; each block is then fetched once", async () => {
    const { data, obj, remote } = await populated();
    await rm(dataDir(), { recursive: true });

    const cache = await openCache();
    expect(cache.stats()).toMatchObject({ blocks: 0, objects: 0, bytes: 0 });
    // Chunk digests are facts about content, not about a disk: kept, so chunks verify on their own.
    expect(cache.hasDigests(obj)).toBe(true);
    expect((await readLikeFuse(cache, obj, remote)).equals(data)).toBe(true);
    expect(remote.bytesServed).toBe(SIZE);
    expect(remote.requests).toHaveLength(3); // one per chunk
    expect(cache.stats()).toMatchObject({ bytesFetched: SIZE, fetchRequests: 3, corruptBlocks: 0 });
    await cache.idle();
    expect(cache.objectState(obj)).toMatchObject({ verified: true });
  });

  it("a data directory deleted under a running cache costs each lost block one fetch; the next open keeps what was refetched", async () => {
    const { data, obj, remote } = await populated();
    const cache = await openCache();
    const listed = cache.stats().blocks;
    expect(listed).toBe(Math.ceil(SIZE / BS)); // same data directory: the index is kept
    await rm(dataDir(), { recursive: true });

    expect((await readLikeFuse(cache, obj, remote)).equals(data)).toBe(true);
    expect(remote.bytesServed).toBe(SIZE);
    expect(remote.requests).toHaveLength(3);
    // Each lost block forgotten once (at the first miss, all together), none failed twice.
    expect(cache.stats()).toMatchObject({ lostBlocks: listed, corruptBlocks: 0, fetchRequests: 3 });
    const blocks = cache.stats().blocks;
    await closeAll();

    // Every block refetched was written again and is listed: nothing is fetched a second time
    // (before, the blocks still listed were kept in memory only, and fetched again by every
    // later process).
    remote.reset();
    const again = await openCache();
    expect(again.stats().blocks).toBe(blocks);
    expect((await readLikeFuse(again, obj, remote)).equals(data)).toBe(true);
    expect(remote.requests).toHaveLength(0);
    // The cache made the directory again with a new identity, and recorded it.
    expect((await readFile(join(dataDir(), IDENTITY_FILE), "utf8")).trim()).toMatch(/^[0-9a-f]{32}$/);
  });

  it("a data directory deleted under a running cache and re-made by a write before any miss: lost blocks fetched once, the next open serves all from disk", async () => {
    const { data, obj, remote } = await populated();
    const fresh = await remoteObject(3 * BS + 1, "SHA256");
    const cache = await openCache();
    await rm(dataDir(), { recursive: true });
    // A read of another object writes first: the layout exists again, without its identity file.
    expect((await cache.read(fresh.obj, 0, fresh.data.length, fresh.remote.fetch)).equals(fresh.data)).toBe(
      true,
    );
    expect((await readLikeFuse(cache, obj, remote)).equals(data)).toBe(true);
    expect(remote.requests).toHaveLength(3);
    await closeAll();

    remote.reset();
    fresh.remote.reset();
    const again = await openCache();
    expect((await readLikeFuse(again, obj, remote)).equals(data)).toBe(true);
    expect((await again.read(fresh.obj, 0, fresh.data.length, fresh.remote.fetch)).equals(fresh.data)).toBe(
      true,
    );
    expect(remote.requests.length + fresh.remote.requests.length).toBe(0);
    expect(again.stats().blocks).toBe(Math.ceil(SIZE / BS) + 4);
  });

  it("one object's directory deleted under a running cache: its blocks are fetched once, the others stay", async () => {
    const a = await populated();
    const b = await remoteObject(3 * BS + 1, "SHA256");
    const cache = await openCache();
    expect((await cache.read(b.obj, 0, b.data.length, b.remote.fetch)).equals(b.data)).toBe(true);
    await cache.idle();
    b.remote.reset();
    await rm(objectDir(layoutDir(dataDir(), BS), a.obj.key), { recursive: true });

    expect((await readLikeFuse(cache, a.obj, a.remote)).equals(a.data)).toBe(true);
    expect(a.remote.bytesServed).toBe(SIZE);
    expect(cache.stats().lostBlocks).toBe(Math.ceil(SIZE / BS));
    expect((await cache.read(b.obj, 0, b.data.length, b.remote.fetch)).equals(b.data)).toBe(true);
    expect(b.remote.requests).toHaveLength(0);
    await closeAll();
    a.remote.reset();
    const again = await openCache();
    expect((await readLikeFuse(again, a.obj, a.remote)).equals(a.data)).toBe(true);
    expect(a.remote.requests).toHaveLength(0);
  });

  it("daemons sharing a data directory record one identity, whoever creates it, with no file left behind", async () => {
    const { data, obj, remote } = await populated();
    const ids = new Set(await Promise.all(Array.from({ length: 16 }, () => dataIdentity(dataDir()))));
    expect(ids.size).toBe(1);
    // A second index on the same directory is not reset by the first one's identity: it adopts the blocks.
    const other = await openCache("index-b");
    expect(other.stats().blocks).toBeGreaterThan(0);
    expect((await readLikeFuse(other, obj, remote)).equals(data)).toBe(true);
    expect(remote.requests).toHaveLength(0);
    expect((await readdir(dataDir())).filter((n) => n.endsWith(".tmp"))).toEqual([]);

    // A fresh directory raced by many: still one id, one file.
    const fresh = join(dir.path, "fresh");
    await mkdir(fresh);
    const raced = new Set(await Promise.all(Array.from({ length: 16 }, () => dataIdentity(fresh))));
    expect(raced.size).toBe(1);
    expect(await readdir(fresh)).toEqual([IDENTITY_FILE]);
    expect((await readFile(join(fresh, IDENTITY_FILE), "utf8")).trim()).toBe([...raced][0]);
  });
});
