// Caches with their own indexes on one data directory (several daemons sharing it) reading
// the same cold object at the same time fetch each chunk once: the first claims it, the
// others wait for its block files and hash them before use. A claim of a process gone (dead
// on this host, or untouched past the stale bound) is taken over; a live one is waited on
// only up to the bound. Real LMDB, real files; the remote counts what it served.
import { spawnSync } from "node:child_process";
import { mkdir, readdir, unlink, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BlockCache, type BlockCacheOptions } from "../../src/cache/block-cache.js";
import { layoutDir, writeBlockFile } from "../../src/cache/block-file.js";
import { DEFAULT_BLOCK_BYTES } from "../../src/cache/block-layout.js";
import { chunkLayout, sha256 } from "../../src/cache/chunk-digests.js";
import type { CacheObject } from "../../src/cache/content-key.js";
import { digestsDir } from "../../src/cache/digest-files.js";
import { claimsDir } from "../../src/cache/fetch-claims.js";
import { MiB, remoteObject, tempDir } from "./cache-fixtures.js";

let dir: { path: string; cleanup: () => Promise<void> };
let caches: BlockCache[] = [];
const layout = () => layoutDir(join(dir.path, "data"), DEFAULT_BLOCK_BYTES);

async function openCache(indexName: string, opts: Partial<BlockCacheOptions> = {}): Promise<BlockCache> {
  const cache = await BlockCache.open({
    dataDir: join(dir.path, "data"),
    indexDir: join(dir.path, indexName),
    maxBytes: 1 << 30,
    reconcile: "never",
    ...opts,
  });
  caches.push(cache);
  return cache;
}

/** Leaves the object's chunk digests beside the blocks, as a daemon that verified it whole would. */
async function shareDigests(obj: CacheObject, data: Buffer): Promise<void> {
  const { chunkBytes } = chunkLayout(data.length, DEFAULT_BLOCK_BYTES) as { chunkBytes: number };
  const digests: Buffer[] = [];
  for (let off = 0; off < data.length; off += chunkBytes)
    digests.push(sha256(data.subarray(off, off + chunkBytes)));
  const path = join(digestsDir(layout()), obj.key.slice(0, 2), obj.key);
  await mkdir(join(path, ".."), { recursive: true });
  await writeFile(path, Buffer.concat(digests));
}

/** A claim file as another process would leave it. */
async function plantClaim(
  obj: CacheObject,
  chunk: number,
  holder: { host: string; pid: number },
): Promise<string> {
  await mkdir(claimsDir(layout()), { recursive: true });
  const path = join(claimsDir(layout()), `${obj.key}.${chunk}`);
  await writeFile(path, JSON.stringify(holder));
  return path;
}

function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "0"]);
  return child.pid as number;
}

beforeEach(async () => {
  dir = await tempDir("claims");
  caches = [];
});
afterEach(async () => {
  for (const c of caches) await c.close();
  await dir.cleanup();
});

describe("fetch claims in a shared data directory", () => {
  it("three caches reading one cold 3-chunk object at once fetch each chunk once, and serve exact bytes", async () => {
    const { data, obj, remote } = await remoteObject(2 * 8 * MiB + 3 * MiB + 5);
    await shareDigests(obj, data);
    remote.delayMs = 30; // the readers overlap
    const [a, b, c] = [await openCache("a"), await openCache("b"), await openCache("c")];
    const reads = await Promise.all([a, b, c].map((cache) => cache.read(obj, 0, data.length, remote.fetch)));
    for (const r of reads) expect(r.equals(data)).toBe(true);
    expect(remote.bytesServed).toBe(data.length);
    const waits = [a, b, c].reduce((n, cache) => n + cache.stats().claimWaits, 0);
    expect(waits).toBeGreaterThanOrEqual(3);
    expect(
      [a, b, c].every((cache) => cache.stats().hashMismatches === 0 && cache.stats().claimTimeouts === 0),
    ).toBe(true);
    // No claim is left behind.
    expect(await readdir(claimsDir(layout()))).toEqual([]);
  });

  it("two caches reading one cold small object at once fetch it once", async () => {
    const { data, obj, remote } = await remoteObject(3 * MiB + 1);
    remote.delayMs = 30;
    const [a, b] = [await openCache("a"), await openCache("b")];
    const reads = await Promise.all([
      a.read(obj, 0, data.length, remote.fetch),
      b.read(obj, 7, 1000, remote.fetch),
    ]);
    expect(reads[0].equals(data)).toBe(true);
    expect(reads[1].equals(data.subarray(7, 1007))).toBe(true);
    expect(remote.requests.length).toBe(1);
  });

  it("a waiter does not serve blocks another process left that fail their hash: it fetches the chunk itself", async () => {
    const { data, obj, remote } = await remoteObject(2 * MiB + 9);
    const b = await openCache("b");
    const claim = await plantClaim(obj, 0, { host: "another-host", pid: 1 });
    const reading = b.read(obj, 0, data.length, remote.fetch);
    // The "holder" leaves blocks whose checksums are right but whose bytes are not the object's, and goes.
    const other = Buffer.from(data);
    other[5] = (other[5] as number) ^ 1;
    for (let i = 0; i < 3; i++) {
      const part = other.subarray(i * MiB, Math.min(other.length, (i + 1) * MiB));
      await writeBlockFile(
        layout(),
        { blockSize: MiB, index: i, objectSize: data.length, dataLength: part.length, key: obj.key },
        part,
      );
    }
    await unlink(claim);
    expect((await reading).equals(data)).toBe(true);
    expect(remote.requests.length).toBe(1);
    expect(b.stats().hashMismatches).toBe(1);
  });

  it("takes over at once the claim of a process gone from this host", async () => {
    const { data, obj, remote } = await remoteObject(2 * MiB + 9);
    const b = await openCache("b");
    await b.idle(); // its sweep of dead claims at open is done
    await plantClaim(obj, 0, { host: hostname(), pid: deadPid() });
    expect((await b.read(obj, 0, data.length, remote.fetch)).equals(data)).toBe(true);
    expect(b.stats()).toMatchObject({ claimTakeovers: 1, claimTimeouts: 0, fetchRequests: 1 });
  });

  it("waits on a live claim of another host, and takes it over once it is stale", async () => {
    const { data, obj, remote } = await remoteObject(2 * MiB + 9);
    const claim = await plantClaim(obj, 0, { host: "another-host", pid: process.pid });
    const b = await openCache("b", { claims: { pollMs: 5, staleMs: 60_000, maxWaitMs: 600_000 } });
    let done = false;
    const reading = b.read(obj, 0, data.length, remote.fetch).finally(() => (done = true));
    for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 10));
    expect(done).toBe(false);
    expect(remote.requests.length).toBe(0);
    // Untouched for longer than the stale bound: its holder died.
    const old = new Date(Date.now() - 120_000);
    await utimes(claim, old, old);
    expect((await reading).equals(data)).toBe(true);
    expect(b.stats()).toMatchObject({ claimTakeovers: 1, claimTimeouts: 0, fetchRequests: 1 });
  });

  it("waits on a live claim no longer than the bound, then fetches by itself", async () => {
    const { data, obj, remote } = await remoteObject(2 * MiB + 9);
    await plantClaim(obj, 0, { host: "another-host", pid: process.pid });
    const b = await openCache("b", { claims: { pollMs: 5, staleMs: 600_000, maxWaitMs: 100 } });
    expect((await b.read(obj, 0, data.length, remote.fetch)).equals(data)).toBe(true);
    expect(b.stats()).toMatchObject({ claimTakeovers: 0, claimTimeouts: 1, fetchRequests: 1 });
  });

  it("fetches without a claim where none can be made (a file in the way of the claims directory)", async () => {
    const { data, obj, remote } = await remoteObject(2 * MiB + 9);
    const b = await openCache("b");
    await writeFile(claimsDir(layout()), "not a directory");
    expect((await b.read(obj, 0, data.length, remote.fetch)).equals(data)).toBe(true);
    expect(b.stats()).toMatchObject({ fetchRequests: 1, claimTimeouts: 0 });
  });

  it("removes at open the claims of processes gone, and only those", async () => {
    const { obj } = await remoteObject(1000);
    await plantClaim(obj, 0, { host: hostname(), pid: deadPid() });
    const old = await plantClaim(obj, 1, { host: "another-host", pid: 1 });
    const past = new Date(Date.now() - 120_000);
    await utimes(old, past, past);
    const live = await plantClaim(obj, 2, { host: "another-host", pid: 1 });
    const mine = await plantClaim(obj, 3, { host: hostname(), pid: process.pid });
    const b = await openCache("b");
    await b.idle();
    expect((await readdir(claimsDir(layout()))).sort()).toEqual([basename(live), basename(mine)].sort());
  });
});
