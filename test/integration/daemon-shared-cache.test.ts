// Two daemons with their own state and LMDB index directories share one block data
// directory (as GPU nodes share an EFS cache; one names it with QUILT_CACHE_DATA_DIR, the
// other with --cache-dir): after the first has read the files, the
// second serves them from the blocks the first wrote, checked, with zero GETs to S3.
// Both the whole-object path (small files, verified before serving) and the block path
// (a file above the whole-object size) are covered.
// Daemons reading the same cold files at the same time fetch each chunk about once (claims in
// the shared directory, src/cache/fetch-claims.ts), counted at the S3 side by a proxy; a
// daemon killed while it holds a claim does not hold up the others.
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { layoutDir } from "../../src/cache/block-file.js";
import { DEFAULT_BLOCK_BYTES } from "../../src/cache/block-layout.js";
import { claimsDir } from "../../src/cache/fetch-claims.js";
import { DaemonSandbox, waitFor } from "../helpers/daemon-harness.js";
import { startFaultProxy, type FaultProxy } from "../helpers/daemon-proxy.js";
import { partsOf } from "../helpers/fault-proxy-s3.js";
import { mountDifferences, publishFiles, pseudoRandomBytes } from "../helpers/daemon-fixtures.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`Skipping shared-cache daemon tests: ${unavailable}`);

const s3 = s3TestEnv();
const registry = `s3://${s3.bucket}`;
const salt = uniquePrefix("dmshare");
const name = `${salt}/shared`;
const MiB = 1024 * 1024;
const FILES: Record<string, Buffer> = {
  "images/0001.jpg": pseudoRandomBytes(120_000, `${salt}-1`),
  "images/0002.jpg": pseudoRandomBytes(80_001, `${salt}-2`),
  "labels.json": Buffer.from(JSON.stringify({ salt, labels: ["cat", "dog"] })),
  // Above the whole-object size of an 8M cache (2 MiB): served and shared block by block.
  "shards/big.bin": pseudoRandomBytes(3 * MiB + 3, `${salt}-big`),
};

describe.skipIf(unavailable !== null)("daemon: two daemons sharing one data directory", () => {
  let shared = "";
  let first: DaemonSandbox;
  let second: DaemonSandbox;

  beforeAll(async () => {
    await publishFiles(s3.endpoint, registry, name, FILES, { prefix: `${salt}-data/` });
    shared = await mkdtemp(join(tmpdir(), "quilt-daemon-shared-data-"));
    first = await DaemonSandbox.create("share1", { endpoint: s3.endpoint, dataDir: shared });
    // The second names the shared directory with --cache-dir (which wins over its own QUILT_CACHE_DATA_DIR).
    second = await DaemonSandbox.create("share2", { endpoint: s3.endpoint });
  });

  afterAll(async () => {
    await first?.cleanup();
    await second?.cleanup();
    if (shared) await rm(shared, { recursive: true, force: true });
  });

  it("serves from the second daemon what the first fetched, with zero GETs", async () => {
    const mnt1 = await first.mountDir();
    await first.mount(`${name}:v1`, mnt1, registry, ["--cache-size", "8M"]);
    expect(await mountDifferences(mnt1, FILES)).toEqual([]);
    const firstStats = await first.stats();
    expect(firstStats.requests.s3.get).toBeGreaterThan(Object.keys(FILES).length);

    const mnt2 = await second.mountDir();
    await second.mount(`${name}:v1`, mnt2, registry, ["--cache-size", "8M", "--cache-dir", shared]);
    expect(second.stateDir).not.toBe(first.stateDir);
    const pids = [await first.pid(), await second.pid()];
    expect(pids[0]).not.toBe(pids[1]);
    // Mounting fetched the manifest; reading must fetch nothing.
    const before = await second.stats();
    expect(await mountDifferences(mnt2, FILES)).toEqual([]);
    const after = await second.stats();
    expect(after.requests.s3.get - before.requests.s3.get).toBe(0);
    expect(after.requests.s3.bytesFetched - before.requests.s3.bytesFetched).toBe(0);
    expect(after.cache.corruptBlocks).toBe(0);
    expect(after.cache.hashMismatches).toBe(0);

    // Each daemon answers for its own mounts only.
    const foreign = await first.cli(["status", mnt2]);
    expect(foreign.code).toBe(4);
    expect(foreign.stderr).toContain(`Error: ${mnt2} is a quilt mount of another daemon`);
    expect((await second.ok(["status", mnt2])).stdout).toContain(`mounted at ${mnt2}`);
  });
});

const COLD: Record<string, Buffer> = {
  // Three 8 MiB chunks (the last one short), with the part checksums S3 reports for quilt3's uploads.
  "cold.bin": pseudoRandomBytes(2 * 8 * MiB + 3 * MiB + 1, `${salt}-cold`),
  "small-1.bin": pseudoRandomBytes(700_001, `${salt}-s1`),
  "small-2.bin": pseudoRandomBytes(500_003, `${salt}-s2`),
  "held.bin": pseudoRandomBytes(8 * MiB + MiB + 7, `${salt}-held`),
};
const coldName = `${salt}/cold`;
const coldPrefix = `${salt}-cold-data/`;

describe.skipIf(unavailable !== null)("daemon: several daemons reading the same cold files at once", () => {
  let proxy: FaultProxy;
  let shared = "";
  const boxes: DaemonSandbox[] = [];
  const mounts: string[] = [];
  const bytesOf = (key: string) =>
    proxy.gets(`${coldPrefix}${key}`).reduce((n, g) => n + (g.bodyBytes ?? 0), 0);

  beforeAll(async () => {
    await publishFiles(s3.endpoint, registry, coldName, COLD, { prefix: coldPrefix });
    proxy = await startFaultProxy(s3.endpoint);
    for (const [key, data] of Object.entries(COLD))
      if (data.length > 8 * MiB) proxy.fakeObjectParts(`${coldPrefix}${key}`, partsOf(data));
    shared = await mkdtemp(join(tmpdir(), "quilt-daemon-cold-data-"));
    for (const label of ["cold1", "cold2", "cold3"]) {
      const box = await DaemonSandbox.create(label, { endpoint: proxy.endpoint, dataDir: shared });
      boxes.push(box);
      const mnt = await box.mountDir();
      await box.mount(`${coldName}:v1`, mnt, registry);
      mounts.push(mnt);
    }
  });

  afterAll(async () => {
    for (const b of boxes) await b.cleanup();
    await proxy?.close();
    if (shared) await rm(shared, { recursive: true, force: true });
  });

  it("three daemons reading one cold multi-chunk file and two small ones at once fetch each about once", async () => {
    const keys = ["cold.bin", "small-1.bin", "small-2.bin"];
    const reads = await Promise.all(
      mounts.flatMap((mnt) => keys.map(async (key) => ({ key, bytes: await readFile(join(mnt, key)) }))),
    );
    for (const r of reads) expect(r.bytes.equals(COLD[r.key] as Buffer), r.key).toBe(true);
    for (const key of keys) {
      const size = (COLD[key] as Buffer).length;
      expect(bytesOf(key), `${key}: bytes fetched from S3 by three daemons`).toBeLessThanOrEqual(1.1 * size);
    }
    const stats = await Promise.all(boxes.map((b) => b.stats()));
    expect(stats.reduce((n, s) => n + s.cache.claimWaits, 0)).toBeGreaterThan(0);
    for (const s of stats)
      expect(s.cache).toMatchObject({ hashMismatches: 0, corruptBlocks: 0, claimTimeouts: 0 });
    expect(await readdir(claimsDir(layoutDir(shared, DEFAULT_BLOCK_BYTES)))).toEqual([]);
  });

  it("a daemon killed (kill -9) while it holds a claim: another takes it over and reads the right bytes", async () => {
    const [dying, survivor] = boxes as [DaemonSandbox, DaemonSandbox];
    const claims = claimsDir(layoutDir(shared, DEFAULT_BLOCK_BYTES));
    proxy.delayGets(`${coldPrefix}held.bin`, 120_000);
    // The reader of the dying daemon's mount gets an error when the daemon dies.
    const stuck = readFile(join(mounts[0] as string, "held.bin")).catch((err: unknown) => err);
    await waitFor(
      async () => (await readdir(claims).catch(() => [])).length > 0,
      20_000,
      "the first daemon to claim a chunk of held.bin",
    );
    await dying.kill9();
    proxy.clearFaults();
    expect(await stuck).toBeInstanceOf(Error);
    const before = (await survivor.stats()).cache;
    const bytes = await readFile(join(mounts[1] as string, "held.bin"));
    expect(bytes.equals(COLD["held.bin"] as Buffer)).toBe(true);
    const after = (await survivor.stats()).cache;
    expect(after.claimTakeovers - before.claimTakeovers).toBeGreaterThanOrEqual(1);
    expect(after.claimTimeouts).toBe(0);
    expect(after.hashMismatches).toBe(0);
  });
});
