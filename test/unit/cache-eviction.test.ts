// The size limit: it holds on disk after every burst of concurrent reads, least recently used
// objects go first, pinned blocks stay, and a file larger than the whole cache still reads
// correctly.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BlockCache, type BlockCacheOptions } from "../../src/cache/block-cache.js";
import { HEADER_BYTES } from "../../src/cache/block-file.js";
import { bytesOnDisk, KiB, remoteObject, sleep, tempDir } from "./cache-fixtures.js";

const BS = 4 * KiB;
const FILE = HEADER_BYTES + BS; // bytes one full block takes on disk
let dir: { path: string; cleanup: () => Promise<void> };
let caches: BlockCache[] = [];

async function openCache(opts: Partial<BlockCacheOptions> = {}): Promise<BlockCache> {
  const cache = await BlockCache.open({
    dataDir: `${dir.path}/data`,
    indexDir: `${dir.path}/index`,
    maxBytes: 20 * FILE,
    blockSize: BS,
    ...opts,
  });
  caches.push(cache);
  return cache;
}

beforeEach(async () => {
  dir = await tempDir("evict");
  caches = [];
});
afterEach(async () => {
  for (const c of caches) await c.close();
  await dir.cleanup();
});

describe("BlockCache eviction", () => {
  it("holds the limit on disk under concurrent reads of many objects", async () => {
    const maxBytes = 20 * FILE;
    // Objects above 2 blocks stream (private, then promoted), so not every read pins its whole object.
    const cache = await openCache({ maxBytes, memoryBytes: 0, wholeObjectBytes: 2 * BS });
    const objects = await Promise.all(
      Array.from({ length: 30 }, (_, i) => remoteObject((3 + (i % 4)) * BS - (i % 3) * 100)),
    );
    for (let round = 0; round < 4; round++) {
      // Ten objects at a time, two readers each: while one group pins its blocks, what the
      // previous groups left is there to evict.
      for (let g = 0; g < objects.length; g += 10) {
        const reads = objects.slice(g, g + 10).flatMap(({ data, obj, remote }, k) => {
          const offset = ((g + k + round) * 1237) % data.length;
          return [
            cache
              .read(obj, offset, 2 * BS, remote.fetch)
              .then((got) => expect(got.equals(data.subarray(offset, offset + 2 * BS))).toBe(true)),
            cache.read(obj, 0, data.length, remote.fetch).then((got) => expect(got.equals(data)).toBe(true)),
          ];
        });
        await Promise.all(reads);
      }
      await cache.idle();
      const onDisk = await bytesOnDisk(`${dir.path}/data`);
      expect(onDisk).toBeLessThanOrEqual(maxBytes);
      expect(cache.stats().bytes).toBe(onDisk);
    }
    const stats = cache.stats();
    expect(stats.evictions).toBeGreaterThan(0);
    expect(stats.bytes).toBeGreaterThan(maxBytes / 2); // it evicts what it must, not everything
  });

  it("evicts the least recently used object first", async () => {
    const cache = await openCache({ maxBytes: 9 * FILE });
    const [a, b, c, d] = await Promise.all([1, 2, 3, 4].map(() => remoteObject(3 * BS)));
    if (!a || !b || !c || !d) throw new Error("fixtures");
    for (const o of [a, b, c]) {
      await cache.read(o.obj, 0, o.data.length, o.remote.fetch);
      await sleep(5);
    }
    await cache.read(a.obj, 0, 10, a.remote.fetch); // a is now the most recent
    await sleep(5);
    await cache.read(d.obj, 0, d.data.length, d.remote.fetch);
    expect([a, b, c, d].map((o) => cache.isComplete(o.obj))).toEqual([true, false, true, true]);
    expect(cache.hasBlock(b.obj, 0)).toBe(false); // evicted whole, not just what was needed
  });

  it("never evicts pinned blocks, and serves what does not fit without keeping it", async () => {
    const cache = await openCache({ maxBytes: 4 * FILE });
    const a = await remoteObject(4 * BS);
    const b = await remoteObject(4 * BS);
    await cache.read(a.obj, 0, a.data.length, a.remote.fetch);
    const unpin = cache.pinBlocks(a.obj, 0, 3);
    expect((await cache.read(b.obj, 0, b.data.length, b.remote.fetch)).equals(b.data)).toBe(true);
    expect(cache.isComplete(a.obj)).toBe(true);
    expect(cache.stats()).toMatchObject({ uncachedBlocks: 4, bytes: 4 * FILE });
    unpin();
    await cache.read(b.obj, 0, b.data.length, b.remote.fetch);
    expect(cache.isComplete(b.obj)).toBe(true);
    expect(cache.hasBlock(a.obj, 0)).toBe(false);
    expect(await bytesOnDisk(`${dir.path}/data`)).toBeLessThanOrEqual(4 * FILE);
  });

  it("reads a file larger than the cache correctly", async () => {
    const maxBytes = 6 * FILE;
    // wholeObjectBytes 0: a small object that cannot fit is fetched whole on every read.
    const cache = await openCache({ maxBytes, memoryBytes: 0, wholeObjectBytes: 0 });
    const { data, obj, remote } = await remoteObject(25 * BS + 99);
    const parts: Buffer[] = [];
    for (let offset = 0; offset < data.length; offset += 3000) {
      parts.push(await cache.read(obj, offset, 3000, remote.fetch));
      expect(await bytesOnDisk(`${dir.path}/data`)).toBeLessThanOrEqual(maxBytes);
    }
    expect(Buffer.concat(parts).equals(data)).toBe(true);
    // Each block was fetched once: the block being read was never evicted under the reader.
    expect(remote.bytesServed).toBe(data.length);
  });
});
