// BlockCache against real LMDB and real files: exact bytes at every offset, one request per
// run of missing blocks, one request per block under concurrency, persistence across a
// reopen, corrupt block files never served, and remote bytes that do not match the manifest
// hash never served nor kept.
import { readFile, writeFile } from "node:fs/promises";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BlockCache, type BlockCacheOptions } from "../../src/cache/block-cache.js";
import { HEADER_BYTES } from "../../src/cache/block-file.js";
import { cacheObject } from "../../src/cache/content-key.js";
import { isQuiltError } from "../../src/errors.js";
import { bytesOnDisk, filesUnder, KiB, remoteObject, tempDir, flipByte } from "./cache-fixtures.js";

const BS = 4 * KiB;
let dir: { path: string; cleanup: () => Promise<void> };
let caches: BlockCache[] = [];

async function openCache(opts: Partial<BlockCacheOptions> = {}): Promise<BlockCache> {
  const cache = await BlockCache.open({
    dataDir: `${dir.path}/data`,
    indexDir: `${dir.path}/index`,
    maxBytes: 1024 * BS,
    blockSize: BS,
    wholeObjectBytes: 0,
    ...opts,
  });
  caches.push(cache);
  return cache;
}

async function blockFiles(): Promise<string[]> {
  return (await filesUnder(`${dir.path}/data`)).map((f) => f.path).sort();
}

beforeEach(async () => {
  dir = await tempDir("cache");
  caches = [];
});
afterEach(async () => {
  for (const c of caches) await c.close();
  await dir.cleanup();
});

describe("BlockCache reads", () => {
  it("returns exact bytes at odd offsets and lengths, across block boundaries and at EOF", async () => {
    const { data, obj, remote } = await remoteObject(5 * BS + 123);
    const cache = await openCache();
    const cases: [number, number][] = [
      [0, 1],
      [1, 4094],
      [BS - 1, 2],
      [BS - 7, BS + 14],
      [3 * BS + 5, 2 * BS],
      [5 * BS, 123],
      [5 * BS + 100, 1000],
      [0, 10 * BS],
      [5 * BS + 123, 10],
      [10 * BS, 5],
      [17, 0],
    ];
    for (const [offset, length] of cases) {
      const got = await cache.read(obj, offset, length, remote.fetch);
      expect(got.equals(data.subarray(offset, offset + length)), `read(${offset}, ${length})`).toBe(true);
    }
    // Verified whole when the last block arrived, then moved to the content key.
    await cache.idle();
    // Random spans, served from a cache that is now complete: no more requests.
    const before = remote.requests.length;
    await fc.assert(
      fc.asyncProperty(fc.nat(data.length + 50), fc.nat(3 * BS), async (offset, length) => {
        const got = await cache.read(obj, offset, length, remote.fetch);
        expect(got.equals(data.subarray(offset, offset + length))).toBe(true);
      }),
      { numRuns: 100 },
    );
    expect(remote.requests.length).toBe(before);
    expect(cache.isComplete(obj)).toBe(true);
    expect(cache.objectState(obj)).toEqual({ blocks: 6, present: 6, verified: true });
  });

  it("readView returns the same bytes as read, as a view inside a block; read's buffer is the caller's own", async () => {
    const { data, obj, remote } = await remoteObject(5 * BS + 123);
    const cache = await openCache();
    for (const [offset, length] of [
      [0, BS],
      [BS + 5, 100],
      [3 * BS - 10, 20],
      [5 * BS, 123],
      [0, 10 * BS],
    ] as const) {
      const view = await cache.readView(obj, offset, length, remote.fetch);
      expect(view.equals(data.subarray(offset, offset + length)), `readView(${offset}, ${length})`).toBe(
        true,
      );
    }
    // Inside one block: two views share the cache's copy (no copy per read).
    const a = await cache.readView(obj, BS, BS, remote.fetch);
    const b = await cache.readView(obj, BS + 8, 8, remote.fetch);
    expect(b.buffer).toBe(a.buffer);
    // read copies: scribbling on its result changes nothing the cache serves later.
    const mine = await cache.read(obj, BS, BS, remote.fetch);
    mine.fill(0);
    expect((await cache.read(obj, BS, BS, remote.fetch)).equals(data.subarray(BS, 2 * BS))).toBe(true);
  });

  it("serves an empty object without fetching", async () => {
    const { obj, remote } = await remoteObject(0);
    const cache = await openCache();
    expect((await cache.read(obj, 0, 100, remote.fetch)).length).toBe(0);
    await cache.ensureBlocks(obj, 0, 10, remote.fetch);
    expect(remote.requests).toHaveLength(0);
    expect(cache.isComplete(obj)).toBe(true);
    expect(await cache.verifyObject(obj)).toBe("ok");
  });

  it("fetches a run of missing blocks with one request", async () => {
    const { data, obj, remote } = await remoteObject(8 * BS);
    const cache = await openCache();
    await cache.read(obj, BS + 10, 3 * BS, remote.fetch); // blocks 1..4
    expect(remote.requests).toEqual([{ start: BS, end: 5 * BS }]);
    remote.reset();
    const got = await cache.read(obj, 0, 8 * BS, remote.fetch); // 0 and 5..7 missing
    expect(got.equals(data)).toBe(true);
    expect(remote.requests).toEqual([
      { start: 0, end: BS },
      { start: 5 * BS, end: 8 * BS },
    ]);
    expect(cache.stats()).toMatchObject({ misses: 8, fetchRequests: 3, bytesFetched: 8 * BS, hits: 4 });
  });

  it("splits a long run at maxFetchBytes", async () => {
    const { data, obj, remote } = await remoteObject(10 * BS);
    const cache = await openCache({ maxFetchBytes: 4 * BS });
    expect((await cache.read(obj, 0, 10 * BS, remote.fetch)).equals(data)).toBe(true);
    expect(remote.requests.map((r) => r.end - r.start)).toEqual([4 * BS, 4 * BS, 2 * BS]);
  });

  it("makes one request per block for concurrent readers (single flight)", async () => {
    const { data, obj, remote } = await remoteObject(6 * BS);
    remote.delayMs = 20;
    const cache = await openCache();
    const reads = Array.from({ length: 20 }, (_, i) =>
      cache.read(obj, (i * 997) % (2 * BS), BS, remote.fetch),
    );
    reads.push(
      cache.read(obj, 0, 6 * BS, remote.fetch),
      cache.ensureBlocks(obj, 0, 5, remote.fetch).then(() => Buffer.alloc(0)),
    );
    const results = await Promise.all(reads);
    results.slice(0, 20).forEach((got, i) => {
      const offset = (i * 997) % (2 * BS);
      expect(got.equals(data.subarray(offset, offset + BS))).toBe(true);
    });
    expect(results[20]?.equals(data)).toBe(true);
    // Every block was fetched exactly once.
    const fetched = remote.requests.flatMap((r) =>
      Array.from({ length: (r.end - r.start) / BS }, (_, k) => r.start / BS + k),
    );
    expect(fetched.sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("survives close and reopen without fetching again", async () => {
    const { data, obj, remote } = await remoteObject(7 * BS + 1);
    let cache = await openCache();
    await cache.read(obj, 0, data.length, remote.fetch);
    const before = cache.stats();
    await cache.close();
    remote.reset();
    cache = await openCache();
    expect(cache.stats()).toMatchObject({ bytes: before.bytes, blocks: 8, objects: 1 });
    expect((await cache.read(obj, 0, data.length, remote.fetch)).equals(data)).toBe(true);
    expect(remote.requests).toHaveLength(0);
    expect(cache.objectState(obj).verified).toBe(true);
    expect(await bytesOnDisk(`${dir.path}/data`)).toBe(before.bytes);
  });

  it("detects a corrupted block file, deletes it and refetches (never serves it)", async () => {
    const { data, obj, remote } = await remoteObject(4 * BS);
    const cache = await openCache({ memoryBytes: 0 });
    await cache.read(obj, 0, data.length, remote.fetch);
    await cache.idle();
    const files = await blockFiles();
    expect(files).toHaveLength(4);
    const victim = files[2] as string;
    const bytes = await readFile(victim);
    flipByte(bytes, HEADER_BYTES + 100, 0x01);
    await writeFile(victim, bytes);
    remote.reset();
    expect((await cache.read(obj, 0, data.length, remote.fetch)).equals(data)).toBe(true);
    expect(remote.requests).toHaveLength(1);
    expect(cache.stats().corruptBlocks).toBe(1);
    expect((await readFile(victim)).equals(bytes)).toBe(false); // rewritten with good bytes

    // A block file copied over another one (right checksum, wrong name) is caught too.
    await writeFile(files[1] as string, await readFile(files[0] as string));
    expect(await cache.checkBlocks(obj)).toEqual({ ok: 3, bad: 1, missing: 0 });
    expect(cache.hasBlock(obj, 1)).toBe(false);
    expect(await cache.verifyObject(obj)).toBe("incomplete");
  });

  it("throws EHASHMISMATCH for a small object whose remote bytes are wrong, and keeps nothing", async () => {
    const { data, obj, remote } = await remoteObject(3 * BS + 5);
    remote.corrupt = true;
    const cache = await openCache({ wholeObjectBytes: 8 * BS });
    const err = await cache.read(obj, 10, 20, remote.fetch).catch((e: unknown) => e);
    expect(isQuiltError(err, "EHASHMISMATCH")).toBe(true);
    expect(remote.requests).toEqual([{ start: 0, end: data.length }]);
    expect(await blockFiles()).toEqual([]);
    expect(cache.stats()).toMatchObject({ bytes: 0, blocks: 0, hashMismatches: 1 });
    remote.corrupt = false;
    expect((await cache.read(obj, 10, 20, remote.fetch)).equals(data.subarray(10, 30))).toBe(true);
    expect(cache.objectState(obj)).toMatchObject({ present: 4, verified: true });
  });

  it("fails a large object without digests once complete when it does not match, and keeps failing that source until evicted", async () => {
    const { data, obj, remote } = await remoteObject(6 * BS);
    const cache = await openCache();
    remote.corrupt = true;
    // Partial reads stream unverified (nothing can tell yet), cached under the source only.
    let unverified = 0;
    await cache.read(obj, 0, 2 * BS, remote.fetch, { onUnverified: () => unverified++ });
    expect(unverified).toBe(1);
    expect(cache.objectState(obj).present).toBe(0);
    const err = await cache.read(obj, 2 * BS, 4 * BS, remote.fetch).catch((e: unknown) => e);
    expect(isQuiltError(err, "EHASHMISMATCH")).toBe(true);
    expect(await blockFiles()).toEqual([]);
    expect(cache.stats()).toMatchObject({ bytes: 0, objects: 0, hashMismatches: 1 });
    // Condemned: the bytes served so far were wrong, so every later read of it fails.
    remote.corrupt = false;
    const again = await cache.read(obj, 0, 10, remote.fetch).catch((e: unknown) => e);
    expect(isQuiltError(again, "EHASHMISMATCH")).toBe(true);
    // force-match's repair: evict, then fetch and verify whole before serving (strict).
    await cache.evictObject(obj);
    remote.reset();
    expect((await cache.read(obj, 0, 10, remote.fetch, { strict: true })).equals(data.subarray(0, 10))).toBe(
      true,
    );
    expect(remote.bytesServed).toBe(data.length);
    expect(cache.objectState(obj).verified).toBe(true);
    expect(cache.hasDigests(obj)).toBe(true);
  });

  it("strict mode serves no byte of a large object without digests before it matched whole", async () => {
    const { obj, remote } = await remoteObject(6 * BS);
    const cache = await openCache();
    remote.corrupt = true;
    let unverified = 0;
    const err = await cache
      .read(obj, 0, 10, remote.fetch, { strict: true, onUnverified: () => unverified++ })
      .catch((e: unknown) => e);
    expect(isQuiltError(err, "EHASHMISMATCH")).toBe(true);
    expect(unverified).toBe(0);
    expect(await blockFiles()).toEqual([]);
    // Larger than the cache: refused with a hint, nothing fetched.
    const small = await openCache({
      dataDir: `${dir.path}/data2`,
      indexDir: `${dir.path}/index2`,
      maxBytes: 2 * BS,
    });
    const big = await remoteObject(6 * BS);
    await expect(small.read(big.obj, 0, 10, big.remote.fetch, { strict: true })).rejects.toMatchObject({
      code: "ENOSPACE",
    });
    expect(big.remote.requests).toEqual([]);
  });

  it("verifies each chunk of an object with known digests before serving it, and refetches a bad chunk", async () => {
    const { data, obj, remote } = await remoteObject(6 * BS);
    const cache = await openCache();
    await cache.read(obj, 0, data.length, remote.fetch);
    await cache.idle();
    expect(cache.hasDigests(obj)).toBe(true);
    await cache.evictObject(obj);
    remote.reset();
    remote.corrupt = true;
    let unverified = 0;
    await expect(
      cache.read(obj, 0, 10, remote.fetch, { onUnverified: () => unverified++ }),
    ).rejects.toMatchObject({ code: "EHASHMISMATCH" });
    expect(unverified).toBe(0);
    expect(await blockFiles()).toEqual([]);
    remote.corrupt = false;
    expect((await cache.read(obj, 0, 10, remote.fetch)).equals(data.subarray(0, 10))).toBe(true);
  });

  it("reports fetch failures and short bodies, then recovers", async () => {
    const { data, obj, remote } = await remoteObject(3 * BS);
    const cache = await openCache();
    remote.failNext = 1;
    await expect(cache.read(obj, 0, BS, remote.fetch)).rejects.toMatchObject({ code: "ESTORAGE" });
    remote.short = true;
    await expect(cache.read(obj, 0, BS, remote.fetch)).rejects.toMatchObject({ code: "ESTORAGE" });
    remote.short = false;
    expect((await cache.read(obj, 0, 3 * BS, remote.fetch)).equals(data)).toBe(true);
    expect(cache.stats().blocks).toBe(3);
  });

  it("verifies SHA256 and CRC64NVME objects too", async () => {
    const cache = await openCache();
    for (const type of ["SHA256", "CRC64NVME"] as const) {
      const { data, obj, remote } = await remoteObject(3 * BS + 17, type);
      expect((await cache.read(obj, 0, data.length, remote.fetch)).equals(data)).toBe(true);
      await cache.idle();
      expect(await cache.verifyObject(obj, { force: true })).toBe("ok");
      const bad = cacheObject(
        { type, value: type === "SHA256" ? "0".repeat(64) : "AAAAAAAAAAA=" },
        data.length,
      );
      await expect(cache.read(bad, 0, data.length, remote.fetch)).rejects.toMatchObject({
        code: "EHASHMISMATCH",
      });
    }
  });

  it("serves objects of an unknown hash type on block checks alone, privately, and refuses to verify them", async () => {
    const { data, remote } = await remoteObject(3 * BS);
    const obj = cacheObject({ type: "md5-from-the-future", value: "whatever" }, data.length);
    const cache = await openCache({ wholeObjectBytes: 8 * BS });
    expect((await cache.read(obj, 0, data.length, remote.fetch)).equals(data)).toBe(true);
    // Never verifiable, so never shared under the content key.
    expect(cache.objectState(obj)).toEqual({ blocks: 3, present: 0, verified: false });
    expect(cache.stats().blocks).toBe(3);
    await expect(cache.verifyObject(obj)).rejects.toMatchObject({ code: "EUSAGE" });
  });

  it("a reader waiting on another reader's fetch retries when that reader aborts", async () => {
    const { data, obj, remote } = await remoteObject(2 * BS);
    remote.delayMs = 30;
    const cache = await openCache();
    const abort = new AbortController();
    const first = cache.read(obj, 0, BS, remote.fetch, abort.signal);
    await new Promise((r) => setTimeout(r, 5));
    const second = cache.read(obj, 10, 100, remote.fetch);
    abort.abort();
    await expect(first).rejects.toMatchObject({ code: "EABORTED" });
    expect((await second).equals(data.subarray(10, 110))).toBe(true);
    expect(remote.requests).toEqual([{ start: 0, end: BS }]); // the aborted one never reached the remote
  });

  it("evictObject and clear remove the files", async () => {
    const a = await remoteObject(2 * BS);
    const b = await remoteObject(3 * BS);
    const cache = await openCache();
    await cache.read(a.obj, 0, a.data.length, a.remote.fetch);
    await cache.read(b.obj, 0, b.data.length, b.remote.fetch);
    await cache.idle();
    await cache.evictObject(a.obj);
    expect(cache.stats()).toMatchObject({ objects: 1, blocks: 3 });
    expect(await blockFiles()).toHaveLength(3);
    await cache.clear();
    expect(cache.stats()).toMatchObject({ objects: 0, blocks: 0, bytes: 0 });
    expect(await blockFiles()).toEqual([]);
  });

  it("never moves to the content key a block that changed after the running hash took it", async () => {
    // Blocks 0..7 of X are hashed as they arrive, then evicted by Y; X's refetched block 0 is
    // damaged in transit: the object must be judged on the bytes it holds now.
    const cache = await openCache({ maxBytes: 20 * (BS + HEADER_BYTES), wholeObjectBytes: 4 * BS });
    const x = await remoteObject(16 * BS);
    const y = await remoteObject(16 * BS);
    await cache.read(x.obj, 0, 8 * BS, x.remote.fetch);
    await cache.read(y.obj, 0, 16 * BS, y.remote.fetch);
    await cache.idle();
    x.remote.corrupt = true;
    await expect(cache.read(x.obj, 0, 16 * BS, x.remote.fetch)).rejects.toMatchObject({
      code: "EHASHMISMATCH",
    });
    await cache.idle();
    expect(cache.objectState(x.obj).present).toBe(0);
    expect(cache.hasDigests(x.obj)).toBe(false);
  });

  it("a reader that joined another reader's chunk fetch survives that reader's abort", async () => {
    const { data, obj, remote } = await remoteObject(3 * BS);
    remote.delayMs = 100;
    const cache = await openCache({ wholeObjectBytes: 8 * BS });
    const abort = new AbortController();
    const prefetch = cache.ensureBlocks(obj, 0, 2, remote.fetch, { signal: abort.signal });
    await new Promise((r) => setTimeout(r, 20));
    const read = cache.read(obj, BS, 100, remote.fetch);
    abort.abort();
    await expect(prefetch).rejects.toMatchObject({ code: "EABORTED" });
    expect((await read).equals(data.subarray(BS, BS + 100))).toBe(true);
  });

  it("strict mode says when an object cannot be held whole, without calling it a mismatch", async () => {
    const cache = await openCache({ maxBytes: 8 * BS });
    const big = await remoteObject(8 * BS); // its headers do not fit next to it
    const err = await cache.read(big.obj, 0, 10, big.remote.fetch, { strict: true }).catch((e: unknown) => e);
    expect(isQuiltError(err, "ENOSPACE")).toBe(true);
    expect(String((err as Error).message)).toContain("cannot be verified whole");
  });

  it("refuses reads, prefetches and bad ranges by rejecting (never a synchronous throw), and fetches nothing for them", async () => {
    const { obj, remote } = await remoteObject(2 * BS);
    const cache = await openCache();
    await expect(cache.read(obj, -1, 10, remote.fetch)).rejects.toMatchObject({ code: "EUSAGE" });
    await expect(cache.readView(obj, 0, 1.5, remote.fetch)).rejects.toMatchObject({ code: "EUSAGE" });
    await cache.close();
    const calls = [
      () => cache.read(obj, 0, 10, remote.fetch),
      () => cache.readView(obj, 0, 10, remote.fetch),
      () => cache.ensureBlocks(obj, 0, 1, remote.fetch),
      () => cache.ensureVerified(obj, remote.fetch),
    ];
    for (const call of calls) {
      let pending: Promise<unknown> | undefined;
      expect(() => (pending = call())).not.toThrow();
      await expect(pending).rejects.toMatchObject({ code: "EUSAGE", message: "the block cache is closed" });
    }
    expect(remote.requests).toHaveLength(0);
  });

  it("refuses block sizes that do not tile the 8 MiB verification chunk", async () => {
    await expect(openCache({ blockSize: 12 * 1024 })).rejects.toMatchObject({ code: "EUSAGE" });
    await expect(openCache({ blockSize: 16 * 1024 * 1024 })).rejects.toMatchObject({ code: "EUSAGE" });
  });
});
