// ObjectReader, the per-file-handle reader of the FUSE daemon: sequential 128 KiB reads (what
// the kernel sends) get a prefetch window that grows, in parallel requests, and never fetch a
// byte twice; random reads fetch only the blocks they touch.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BlockCache } from "../../src/cache/block-cache.js";
import { ObjectReader } from "../../src/cache/object-reader.js";
import { KiB, MiB, remoteObject, tempDir } from "./cache-fixtures.js";

let dir: { path: string; cleanup: () => Promise<void> };
let cache: BlockCache;

beforeEach(async () => {
  dir = await tempDir("reader");
  cache = await BlockCache.open({
    dataDir: `${dir.path}/data`,
    indexDir: `${dir.path}/index`,
    maxBytes: 512 * MiB,
  });
});
afterEach(async () => {
  await cache.close();
  await dir.cleanup();
});

describe("ObjectReader", () => {
  it("prefetches ahead of a sequential reader with a growing window and fetches each byte once", async () => {
    const { data, obj, remote } = await remoteObject(40 * MiB + 5);
    remote.delayMs = 2;
    const reader = new ObjectReader(cache, obj, remote.fetch);
    const windows: number[] = [];
    for (let offset = 0; offset < data.length; offset += 128 * KiB) {
      const got = await reader.read(offset, 128 * KiB);
      expect(got.equals(data.subarray(offset, offset + 128 * KiB))).toBe(true);
      windows.push(reader.windowBytes);
    }
    await reader.close();
    expect(remote.bytesServed).toBe(data.length); // no block fetched twice, nothing past EOF
    const sizes = remote.requests.map((r) => r.end - r.start);
    expect(sizes[0]).toBeLessThanOrEqual(2 * MiB); // starts small
    expect(Math.max(...sizes)).toBe(8 * MiB); // grows to whole parts
    expect(remote.requests.length).toBeLessThan(20); // not one request per block (41 blocks)
    expect(windows[0]).toBe(2 * (MiB + 128 * KiB));
    expect(Math.max(...windows)).toBe(64 * MiB);
    // Reads found their block cached or being prefetched; they fetched almost nothing themselves.
    // The reader holds the block it is in, so it asks the cache once per block, not per 128 KiB.
    const stats = cache.stats();
    expect(stats.hits + stats.joinedFetches).toBeGreaterThan(0.9 * 41);
    expect(stats.hits + stats.joinedFetches).toBeLessThanOrEqual(41);
    expect(stats.misses).toBe(41);
    await cache.idle(); // verified whole at the last block, then moved to its content key
    expect(cache.objectState(obj)).toMatchObject({ present: 41, verified: true });
  });

  it("serves the kernel's parallel, slightly reordered reads of a block from one load", async () => {
    const { data, obj, remote } = await remoteObject(16 * MiB);
    const reader = new ObjectReader(cache, obj, remote.fetch);
    // Readahead sends several 128 KiB reads at once: here the 16 reads of two blocks, shuffled.
    for (let base = 0; base < data.length; base += 2 * MiB) {
      const offsets = Array.from({ length: 16 }, (_, i) => base + ((i * 5) % 16) * 128 * KiB);
      const got = await Promise.all(offsets.map((o) => reader.read(o, 128 * KiB)));
      got.forEach((g, i) =>
        expect(g.equals(data.subarray(offsets[i], (offsets[i] as number) + 128 * KiB))).toBe(true),
      );
    }
    await reader.close();
    const stats = cache.stats();
    // One cache read per block (a hit, or a fetch joined or made), not one per 128 KiB.
    expect(stats.hits + stats.joinedFetches).toBeLessThanOrEqual(16);
    expect(remote.bytesServed).toBe(data.length);
  });

  it("fetches only the blocks that random reads touch, when it does not fill the object", async () => {
    const { data, obj, remote } = await remoteObject(48 * MiB);
    const reader = new ObjectReader(cache, obj, remote.fetch, { fillMaxBytes: 0 });
    const blocks = [17, 3, 41, 9, 29, 5, 35, 23, 13, 45, 1, 31];
    for (const b of blocks) {
      const offset = b * MiB + ((b * 7919) % (MiB - 4 * KiB));
      expect((await reader.read(offset, 4 * KiB)).equals(data.subarray(offset, offset + 4 * KiB))).toBe(true);
    }
    await reader.close();
    expect(remote.requests).toHaveLength(blocks.length);
    expect(remote.bytesServed).toBe(blocks.length * MiB);
    expect(reader.windowBytes).toBe(MiB + 128 * KiB);
  });

  it("fills an object verifiable only whole once it is read at random: each byte fetched once, then verified", async () => {
    const { data, obj, remote } = await remoteObject(48 * MiB);
    remote.delayMs = 5;
    const reader = new ObjectReader(cache, obj, remote.fetch);
    const blocks = [17, 3, 41, 9, 29, 5, 35, 23, 13, 45, 1, 31];
    for (const b of blocks) {
      const offset = b * MiB + ((b * 7919) % (MiB - 4 * KiB));
      expect((await reader.read(offset, 4 * KiB)).equals(data.subarray(offset, offset + 4 * KiB))).toBe(true);
    }
    for (let i = 0; i < 200 && !cache.isComplete(obj); i++) {
      await cache.idle();
      await new Promise((r) => setTimeout(r, 10));
    }
    await reader.close();
    await cache.idle();
    expect(remote.bytesServed).toBe(data.length); // the whole object, no byte twice
    expect(cache.objectState(obj)).toMatchObject({ present: 48, verified: true });
    expect(cache.hasDigests(obj)).toBe(true);
  });

  it("a fill of an object whose source serves other bytes condemns it: nothing is shared, later reads fail", async () => {
    const { obj, remote } = await remoteObject(24 * MiB);
    remote.corrupt = true; // every response has a byte flipped
    const reader = new ObjectReader(cache, obj, remote.fetch);
    await reader.read(9 * MiB + 5, 4 * KiB); // unverified, as the default mode streams it; starts the fill
    for (let i = 0; i < 200 && !cache.hasFailed(obj); i++) {
      await cache.idle().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(cache.hasFailed(obj)).toBe(true);
    await expect(reader.read(3 * MiB, 4 * KiB)).rejects.toMatchObject({ code: "EHASHMISMATCH" });
    await reader.close();
    expect(cache.objectState(obj)).toMatchObject({ present: 0, verified: false });
  });

  it("does not fill an object whose chunks can be verified alone, nor one larger than its limit", async () => {
    const { data, obj, remote } = await remoteObject(48 * MiB);
    await cache.read(obj, 0, data.length, remote.fetch); // verified whole once: digests recorded
    await cache.idle();
    await cache.evictObject(obj);
    expect(cache.hasDigests(obj)).toBe(true);
    remote.reset();
    const reader = new ObjectReader(cache, obj, remote.fetch);
    expect(
      (await reader.read(20 * MiB + 5, 4 * KiB)).equals(data.subarray(20 * MiB + 5, 20 * MiB + 5 + 4 * KiB)),
    ).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    await reader.close();
    expect(remote.requests).toEqual([{ start: 16 * MiB, end: 24 * MiB }]); // its chunk only

    const other = await remoteObject(48 * MiB);
    const small = new ObjectReader(cache, other.obj, other.remote.fetch, { fillMaxBytes: 32 * MiB });
    expect(
      (await small.read(20 * MiB + 5, 4 * KiB)).equals(
        other.data.subarray(20 * MiB + 5, 20 * MiB + 5 + 4 * KiB),
      ),
    ).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    await small.close();
    expect(other.remote.bytesServed).toBe(MiB);
  });

  it("resets the window when a sequential reader seeks back, and close stops prefetching", async () => {
    const { data, obj, remote } = await remoteObject(80 * MiB);
    remote.delayMs = 10;
    const reader = new ObjectReader(cache, obj, remote.fetch, { fillMaxBytes: 0 });
    for (let offset = 0; offset < 2 * MiB; offset += 128 * KiB) await reader.read(offset, 128 * KiB);
    expect(reader.windowBytes).toBeGreaterThan(4 * MiB);
    expect((await reader.read(10, 1000)).equals(data.subarray(10, 1010))).toBe(true);
    expect(reader.windowBytes).toBe(MiB + 128 * KiB);
    await reader.close();
    const served = remote.bytesServed;
    await new Promise((r) => setTimeout(r, 50));
    expect(remote.bytesServed).toBe(served);
    expect(served).toBeLessThan(80 * MiB);
  });

  it("loads the next cached blocks ahead of a sequential reader, and not ahead of a random one", async () => {
    const { data, obj, remote } = await remoteObject(20 * MiB);
    await cache.read(obj, 0, data.length, remote.fetch);
    await cache.idle();
    expect(cache.isComplete(obj)).toBe(true);
    const settle = () => new Promise((r) => setTimeout(r, 50));

    const random = new ObjectReader(cache, obj, remote.fetch);
    let before = cache.stats().hits;
    expect((await random.read(5 * MiB, 128 * KiB)).equals(data.subarray(5 * MiB, 5 * MiB + 128 * KiB))).toBe(
      true,
    );
    await settle();
    expect(cache.stats().hits - before).toBe(1);
    await random.close();

    const sequential = new ObjectReader(cache, obj, remote.fetch);
    before = cache.stats().hits;
    expect((await sequential.read(0, 128 * KiB)).equals(data.subarray(0, 128 * KiB))).toBe(true);
    await settle();
    expect(cache.stats().hits - before).toBe(5); // its block and the 4 after it
    remote.reset();
    for (let off = 128 * KiB; off < 5 * MiB; off += 128 * KiB) {
      expect((await sequential.read(off, 128 * KiB)).equals(data.subarray(off, off + 128 * KiB))).toBe(true);
    }
    expect(remote.requests).toEqual([]);
    await sequential.close();
  });
});
