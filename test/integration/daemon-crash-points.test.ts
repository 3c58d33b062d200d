// kill -9 of the mount daemon at chosen points, then `fusermount -uz` and a new daemon:
//   mid-cache-write: a proxy in front of moto holds the large file's GET at offset 3 MiB, so
//     the daemon has written some of its blocks and waits for the rest;
//   mid-eviction: the daemon runs with QUILT_TEST_PAUSE_AT=eviction (src/test-pause.ts), so
//     an eviction stops with the index updated and half of its files deleted.
// Afterwards every file reads back with its source's bytes, `quilt verify MOUNT` passes, no
// corrupt block or hash mismatch is counted, and the index counts exactly the block files
// on disk, within the cache limit.
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBlockHeader } from "../../src/cache/block-file.js";
import { fusermountUnmount, mountState } from "../../src/fs/mount-table.js";
import { DaemonSandbox, waitFor } from "../helpers/daemon-harness.js";
import {
  blockFileBytes,
  errnoOf,
  mountDifferences,
  publishFiles,
  pseudoRandomBytes,
} from "../helpers/daemon-fixtures.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";
import { startHoldProxy, type HoldProxy } from "../helpers/hold-proxy.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`Skipping daemon crash-point tests: ${unavailable}`);

const s3 = s3TestEnv();
const registry = `s3://${s3.bucket}`;
const salt = uniquePrefix("dmpoints");
const name = `${salt}/pts`;
const MiB = 1024 * 1024;
/** Over one 8 MiB chunk and without digests on moto: streamed, its blocks written as they arrive. */
const BIG = "big/streamed.bin";
/** Two blocks each, fetched whole and verified: five of them do not fit a 5 MiB cache. */
const SMALL = Array.from({ length: 5 }, (_, i) => `small/${i}.bin`);
const FILES: Record<string, Buffer> = {
  "README.md": Buffer.from(`# ${salt}\n`),
  [BIG]: pseudoRandomBytes(9 * MiB + 3, `${salt}-big`),
  ...Object.fromEntries(SMALL.map((k, i) => [k, pseudoRandomBytes(MiB + 200_000 + i, `${salt}-${k}`)])),
};

let proxy: HoldProxy;

interface ObjectDir {
  /** Block files in the directory. */
  files: number;
  /** The object's block count, from a header. */
  blocks: number;
  /** Its files are a private copy (unverified, under a source key): their headers name another key than the directory. */
  private: boolean;
}

/** The object directories of the data directory, read from their block files' headers. */
async function objectDirs(dataDir: string): Promise<ObjectDir[]> {
  const out: ObjectDir[] = [];
  const visit = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    const blocks = entries.filter((e) => e.isFile() && /^\d+$/.test(e.name));
    const first = blocks[0] ? (await readBlockHeader(join(dir, blocks[0].name)))?.header : undefined;
    if (first)
      out.push({
        files: blocks.length,
        blocks: Math.ceil(first.objectSize / first.blockSize),
        private: first.key !== basename(dir),
      });
    for (const e of entries) if (e.isDirectory()) await visit(join(dir, e.name));
  };
  await visit(dataDir);
  return out;
}

/** The daemon's index counts exactly the block files on disk, within `limit`. */
async function expectIndexMatchesDisk(box: DaemonSandbox, limit: number): Promise<void> {
  const onDisk = async () => (await blockFileBytes(box.dataDir)).bytes;
  await waitFor(
    async () => (await box.stats()).cache.bytes === (await onDisk()),
    20_000,
    "cache stats to match the block files on disk",
  ).catch(async (err: Error) => {
    throw new Error(
      `${err.message}: stats ${(await box.stats()).cache.bytes}, disk ${await onDisk()}\n${await box.logTail()}`,
    );
  });
  expect(await onDisk()).toBeLessThanOrEqual(limit);
}

/** After a kill: the mount is detached by hand and a new daemon mounts the package again; then everything checks. */
async function restartAndCheck(
  box: DaemonSandbox,
  mnt: string,
  cacheSize: string,
  limit: number,
): Promise<void> {
  await fusermountUnmount(mnt, { lazy: true });
  expect(await mountState(mnt)).not.toBe("live");
  await box.mount(`${name}:v1`, mnt, registry, ["--cache-size", cacheSize]);
  expect(await mountState(mnt), await box.logTail()).toBe("live");
  await expectIndexMatchesDisk(box, limit);
  expect(await mountDifferences(mnt, FILES)).toEqual([]);
  const verify = await box.cli(["verify", mnt]);
  expect(verify.code, `${verify.stdout}${verify.stderr}\n${await box.logTail()}`).toBe(0);
  const stats = await box.stats();
  expect(stats.cache.corruptBlocks).toBe(0);
  expect(stats.cache.hashMismatches).toBe(0);
  await expectIndexMatchesDisk(box, limit);
}

describe.skipIf(unavailable !== null)("daemon killed with SIGKILL at chosen points", () => {
  beforeAll(async () => {
    await publishFiles(s3.endpoint, registry, name, FILES, { prefix: `${salt}-data/` });
    proxy = await startHoldProxy(s3.endpoint);
  });
  afterAll(async () => proxy?.close());

  it(
    "mid-cache-write: after a restart the file reads right and verifies, nothing torn is served",
    { timeout: 180_000 },
    async () => {
      const box = await DaemonSandbox.create("crash-write", { endpoint: proxy.endpoint });
      try {
        const mnt = await box.mountDir();
        await box.mount(`${name}:v1`, mnt, registry, ["--cache-size", "64M"]);
        const held = proxy.hold({ method: "GET", key: `${salt}-data/${BIG}`, atOffset: 3 * MiB + 100 });
        const reading = errnoOf(readFile(join(mnt, BIG)));
        await held;
        // Blocks before the hold are on disk (kept privately: unverified); the rest are awaited.
        await waitFor(
          async () => (await blockFileBytes(box.dataDir)).files >= 3,
          20_000,
          "the held object's first blocks on disk",
        );
        await box.kill9();
        expect(await reading).not.toBe("ok");
        proxy.release();
        // The kill lands mid-write: part of the object is on disk, as an unverified private copy.
        expect(
          (await objectDirs(box.dataDir)).filter((d) => d.private),
          JSON.stringify(await objectDirs(box.dataDir)),
        ).not.toEqual([]);
        await restartAndCheck(box, mnt, "64M", 64 * MiB);
        // The dead daemon's private copy is deleted, not left holding room until evicted.
        expect((await objectDirs(box.dataDir)).filter((d) => d.private)).toEqual([]);
      } finally {
        await box.cleanup();
      }
    },
  );

  it(
    "mid-eviction: after a restart every file reads right and verifies, the index and the disk agree",
    { timeout: 180_000 },
    async () => {
      const box = await DaemonSandbox.create("crash-evict", { endpoint: s3.endpoint });
      const marker = join(box.root, "paused-at-eviction");
      try {
        const mnt = await box.mountDir();
        await box.ok(["mount", `${name}:v1`, mnt, "--registry", registry, "--cache-size", "5M"], {
          QUILT_TEST_PAUSE_AT: "eviction",
          QUILT_TEST_PAUSE_MARKER: marker,
        });
        // Read the small files in turn until one needs room: that eviction stops half-way.
        const reads = (async () => {
          for (const key of SMALL) if ((await errnoOf(readFile(join(mnt, key)))) !== "ok") return;
        })();
        await waitFor(() => existsSync(marker), 30_000, "the daemon to pause in an eviction");
        await box.kill9();
        await reads;
        // Mid-eviction: the victim's first block file is deleted, its second still there.
        expect((await objectDirs(box.dataDir)).filter((d) => !d.private && d.files < d.blocks)).toHaveLength(
          1,
        );
        await restartAndCheck(box, mnt, "5M", 5 * MiB);
      } finally {
        await box.cleanup();
      }
    },
  );
});
