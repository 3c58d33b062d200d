// The cache data directory on a small tmpfs that fills (issue 12, fault suites): the cache
// limit (64 MiB) is larger than the filesystem (8 MiB), so the disk fills long before the
// limit would evict anything. Every read through the mount must return the right bytes
// (served without being kept when they cannot be written) or fail cleanly with EIO/ENOSPC;
// eviction must free space for new blocks; the daemon must stay up; and no temp file may
// be left filling the disk. Needs root (to mount the tmpfs) and FUSE.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DaemonSandbox } from "../helpers/daemon-harness.js";
import {
  errnoOf,
  publishFiles,
  pseudoRandomBytes,
  runCommand,
  sha256Hex,
} from "../helpers/daemon-fixtures.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";
import { filesUnder } from "../unit/cache-fixtures.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";

const MiB = 1024 * 1024;
const TMPFS_BYTES = 8 * MiB;

function whyNot(): string | null {
  if (typeof process.getuid !== "function" || process.getuid() !== 0)
    return "not root (mounting a tmpfs needs root)";
  return fuseUnavailable();
}

const unavailable = whyNot();
if (unavailable) console.warn(`Skipping full-disk daemon tests: ${unavailable}`);

const s3 = s3TestEnv();
const registry = `s3://${s3.bucket}`;
const salt = uniquePrefix("dmfull");
const name = `${salt}/full`;
const FILES: Record<string, Buffer> = Object.fromEntries([
  // Whole objects (fetched and verified whole), 15 MiB together: twice the filesystem.
  ...Array.from(
    { length: 5 },
    (_, i) => [`small/${i}.bin`, pseudoRandomBytes(3 * MiB + i, `${salt}-s${i}`)] as const,
  ),
  // Read block by block: alone larger than the filesystem.
  ["big/shard.bin", pseudoRandomBytes(12 * MiB + 7, `${salt}-big`)] as const,
]);

describe.skipIf(unavailable !== null)("daemon: cache data directory on a small tmpfs that fills", () => {
  let box: DaemonSandbox;
  let tmpfs = "";
  let mounted = false;

  beforeAll(async () => {
    await publishFiles(s3.endpoint, registry, name, FILES, { prefix: `${salt}-data/` });
    tmpfs = await mkdtemp(join(tmpdir(), "quilt-full-tmpfs-"));
    try {
      await runCommand("mount", ["-t", "tmpfs", "-o", `size=${TMPFS_BYTES},mode=0700`, "tmpfs", tmpfs]);
      mounted = true;
    } catch (err) {
      console.warn(
        `Skipping full-disk daemon tests: cannot mount a tmpfs (${(err as Error).message.split("\n")[0]})`,
      );
    }
    box = await DaemonSandbox.create("full", { endpoint: s3.endpoint, dataDir: tmpfs });
  });
  afterAll(async () => {
    await box?.cleanup();
    if (mounted) await runCommand("umount", ["-l", tmpfs]).catch(() => undefined);
    if (tmpfs) await rm(tmpfs, { recursive: true, force: true });
  });

  /** Reads every file twice: each read is the right bytes or a clean EIO/ENOSPC. */
  async function readAll(mnt: string): Promise<{ ok: number; failed: string[] }> {
    let ok = 0;
    const failed: string[] = [];
    for (let pass = 0; pass < 2; pass++) {
      for (const [key, want] of Object.entries(FILES)) {
        let got: Buffer | undefined;
        const outcome = await errnoOf(readFile(join(mnt, key)).then((b) => (got = b)));
        if (outcome !== "ok") {
          expect(["EIO", "ENOSPC"], `${key}: ${outcome}`).toContain(outcome);
          failed.push(`${key}: ${outcome}`);
          continue;
        }
        expect(got?.length, key).toBe(want.length);
        expect(sha256Hex(got ?? Buffer.alloc(0)), key).toBe(sha256Hex(want));
        ok++;
      }
    }
    return { ok, failed };
  }

  it("serves the right bytes with the disk full, keeps what fits, leaves no temp files, stays up", async (ctx) => {
    if (!mounted) return ctx.skip();
    const mnt = await box.mountDir();
    await box.mount(`${name}:v1`, mnt, registry, ["--cache-size", "64M"]);
    const result = await readAll(mnt);
    expect(result.failed, await box.logTail()).toEqual([]);
    expect(result.ok).toBe(2 * Object.keys(FILES).length);

    const stats = await box.stats();
    expect((await box.ok(["mounts"])).stdout).toContain(mnt);
    // The cache keeps what the disk holds, counted: its index never lists more than fits.
    expect(stats.cache.bytes).toBeGreaterThan(0);
    expect(stats.cache.bytes).toBeLessThanOrEqual(TMPFS_BYTES);
    expect(stats.cache.corruptBlocks).toBe(0);
    const files = await filesUnder(tmpfs);
    expect(files.filter((f) => f.path.endsWith(".tmp"))).toEqual([]);
    // Eviction made room: the last file read (the big one, read block by block) is cached
    // in part at least, though the disk was full of small files before it.
    expect(files.some((f) => f.path.includes("/v2-"))).toBe(true);
    expect(stats.cache.evictions, JSON.stringify(stats.cache)).toBeGreaterThan(0);
  });
});
