// Two daemons with their own state and LMDB index directories share one block data
// directory (as GPU nodes share an EFS cache; one names it with QUILT_CACHE_DATA_DIR, the
// other with --cache-dir): after the first has read the files, the
// second serves them from the blocks the first wrote, checked, with zero GETs to S3.
// Both the whole-object path (small files, verified before serving) and the block path
// (a file above the whole-object size) are covered.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DaemonSandbox } from "../helpers/daemon-harness.js";
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
