// Integrity on a mount through the CLI: `quilt verify MOUNT` re-hashes what is cached and
// fetches and verifies the rest (with --cached-only it reports the rest as not verified,
// exit 1, and fetches nothing: it never says "matches" for bytes it has not checked); a
// block corrupted on disk (a flipped byte in a block file) is reported (exit 1) under every
// key that names that content, `quilt force-match MOUNT` evicts and refetches it, after
// which verify passes and the bytes are right. A corrupt block is never served: a fresh
// daemon reading it detects the checksum failure and fetches the block again.
// `quilt status MOUNT` describes the mount and how much of it is verified.
import { open } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blockPath, HEADER_BYTES, layoutDir } from "../../src/cache/block-file.js";
import { cacheObjectForEntry } from "../../src/cache/content-key.js";
import type { Manifest, ManifestEntry } from "../../src/manifest/manifest.js";
import { DaemonSandbox } from "../helpers/daemon-harness.js";
import { mountDifferences, publishFiles, pseudoRandomBytes } from "../helpers/daemon-fixtures.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`Skipping daemon verify tests: ${unavailable}`);

const s3 = s3TestEnv();
const registry = `s3://${s3.bucket}`;
const salt = uniquePrefix("dmverify");
const name = `${salt}/verify`;
const MiB = 1024 * 1024;
const B = pseudoRandomBytes(200_000, `${salt}-b`);
const FILES: Record<string, Buffer> = {
  "data/a.bin": pseudoRandomBytes(3 * MiB + 100, `${salt}-a`),
  "data/b.bin": B,
  // Same content as data/b.bin: one cached object under two keys.
  "data/same-as-b.bin": Buffer.from(B),
  "small.txt": Buffer.from(`small ${salt}\n`),
  "empty.txt": Buffer.alloc(0),
  "never-read.bin": pseudoRandomBytes(100_000, `${salt}-never`),
};
const NEVER_READ = "never-read.bin";

interface VerifyJson {
  ok: boolean;
  checked: number;
  rehashed: number;
  failed: { key: string; reason: string }[];
  unverified: string[];
  unverifiedCount: number;
}

describe.skipIf(unavailable !== null)("daemon: verify, force-match and status on a mount", () => {
  let box: DaemonSandbox;
  let mnt = "";
  let manifest: Manifest;
  let topHash = "";

  /** Flips one data byte of block `index` of `key`'s cached object, in place (bit rot). */
  const corrupt = async (key: string, index: number, blockSize: number): Promise<void> => {
    const obj = cacheObjectForEntry(manifest.get(key) as ManifestEntry);
    const fh = await open(blockPath(layoutDir(box.dataDir, blockSize), obj.key, index), "r+");
    try {
      const at = HEADER_BYTES + 1000;
      const byte = Buffer.alloc(1);
      await fh.read(byte, 0, 1, at);
      byte[0] = (byte[0] as number) ^ 0xff;
      await fh.write(byte, 0, 1, at);
    } finally {
      await fh.close();
    }
  };

  beforeAll(async () => {
    ({ manifest, topHash } = await publishFiles(s3.endpoint, registry, name, FILES, {
      prefix: `${salt}-data/`,
    }));
    box = await DaemonSandbox.create("verify", { endpoint: s3.endpoint });
    mnt = await box.mountDir();
    await box.mount(`${name}:v1`, mnt, registry, ["--cache-size", "64M"]);
  });

  afterAll(async () => {
    await box?.cleanup();
  });

  it("verify --cached-only reports what is not cached as not verified; verify fetches and verifies it", async () => {
    expect(await mountDifferences(mnt, FILES, [NEVER_READ])).toEqual([]);
    const before = await box.stats();
    const partial = await box.cli(["verify", mnt, "--cached-only"]);
    expect(partial.code, partial.stderr).toBe(1);
    expect(partial.stdout).not.toContain("matches manifest");
    expect(partial.stdout).toContain("1 of 6 files not verified");
    expect(partial.stdout).toContain(`${mnt}/${NEVER_READ}`);
    const partialJson = JSON.parse(
      (await box.cli(["verify", mnt, "--cached-only", "--json"])).stdout,
    ) as VerifyJson;
    expect(partialJson).toMatchObject({
      ok: false,
      checked: 6,
      failed: [],
      unverified: [NEVER_READ],
      unverifiedCount: 1,
      rehashed: 4,
    });
    expect((await box.stats()).requests.s3.get).toBe(before.requests.s3.get);

    const r = await box.cli(["verify", mnt]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${mnt} matches manifest ${name}:v1`);
    expect((await box.stats()).requests.s3.get).toBeGreaterThan(before.requests.s3.get);
    const json = JSON.parse((await box.ok(["verify", mnt, "--cached-only", "--json"])).stdout) as VerifyJson;
    expect(json).toMatchObject({ ok: true, checked: 6, failed: [], unverified: [] });
    // Every object with bytes is now cached and re-hashed; only the empty file is not.
    expect(json.rehashed).toBe(5);

    const status = await box.ok(["status", mnt]);
    expect(status.stdout).toContain(`Package: ${name}:v1 (${topHash.slice(0, 9)}) mounted at ${mnt}`);
    expect(status.stdout).toContain("Files: 6");
    expect(status.stdout).toContain("Integrity: verify=default; 6 of 6 files cached and verified");
    const statusJson = JSON.parse((await box.ok(["status", mnt, "--json"])).stdout) as Record<
      string,
      unknown
    >;
    expect(statusJson).toMatchObject({
      kind: "mount",
      mountpoint: mnt,
      name,
      tag: "v1",
      topHash,
      entries: 6,
      verify: "default",
      verifiedFiles: 6,
      failedFiles: [],
    });
  });

  it("cache clear while the daemon runs goes through the daemon: nothing it lists is gone, nothing fails, reads fetch again", async () => {
    expect((await box.ok(["verify", mnt, "--cached-only", "--json"])).code).toBe(0); // everything cached (previous test)
    const cleared = await box.ok(["cache", "clear"]);
    expect(cleared.stdout).toContain("Cache cleared (the daemon's too)");
    const after = await box.cli(["verify", mnt, "--cached-only", "--json"]);
    const json = JSON.parse(after.stdout) as VerifyJson;
    // Not cached any more, so not verified; but no file is reported as failing its hash.
    expect(json).toMatchObject({ ok: false, failed: [] });
    expect(json.unverifiedCount).toBe(5);
    expect((await box.stats()).cache).toMatchObject({ blocks: 0, bytes: 0 });
    const before = await box.stats();
    expect(await mountDifferences(mnt, FILES, [])).toEqual([]);
    expect((await box.ok(["verify", mnt])).stdout).toContain(`${mnt} matches manifest ${name}:v1`);
    expect((await box.stats()).requests.s3.get).toBeGreaterThan(before.requests.s3.get);
  });

  it("reports a corrupted block (exit 1) and force-match repairs it", async () => {
    const blockSize = (await box.stats()).cache.blockSize;
    await corrupt("data/a.bin", 1, blockSize);
    await corrupt("data/b.bin", 0, blockSize);

    const bad = await box.cli(["verify", mnt]);
    expect(bad.code, bad.stderr).toBe(1);
    const lines = bad.stdout.trim().split("\n");
    for (const key of ["data/a.bin", "data/b.bin", "data/same-as-b.bin"]) {
      expect(
        lines.some(
          (l) =>
            l.startsWith(`${mnt}/${key} does not match manifest ${name}:v1: `) &&
            /corrupt|do not match/.test(l),
        ),
        `${key} in:\n${bad.stdout}`,
      ).toBe(true);
    }
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe(`This can be fixed by calling quilt force-match ${mnt}`);

    const fixed = await box.cli(["force-match", mnt]);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.stdout).toContain("Changes:");
    for (const key of ["data/a.bin", "data/b.bin", "data/same-as-b.bin"])
      expect(fixed.stdout).toContain(`  ${mnt}/${key} evicted from the cache and fetched again`);

    // Repaired means cached again and verified, not just gone from the cache: the same four
    // objects as before are re-hashed from the cache.
    const good = JSON.parse((await box.ok(["verify", mnt, "--cached-only", "--json"])).stdout) as VerifyJson;
    expect(good).toMatchObject({ ok: true, checked: 6, rehashed: 5, failed: [] });
    expect(await mountDifferences(mnt, FILES, [NEVER_READ])).toEqual([]);
    const again = await box.ok(["force-match", mnt]);
    expect(again.stdout).toContain(`No changes: ${mnt} already matches ${name}:v1 (${topHash.slice(0, 9)})`);
  });

  it("never serves a corrupt block: a fresh daemon detects it on read and fetches it again", async () => {
    const blockSize = (await box.stats()).cache.blockSize;
    // A new daemon and mount: no block in the daemon's memory, no page in the kernel's cache.
    await box.ok(["daemon", "stop"]);
    await corrupt("data/a.bin", 2, blockSize);
    await box.mount(`${name}:v1`, mnt, registry, ["--cache-size", "64M"]);
    expect(await mountDifferences(mnt, FILES, [NEVER_READ])).toEqual([]);
    const stats = await box.stats();
    expect(stats.cache.corruptBlocks + stats.cache.hashMismatches).toBeGreaterThan(0);
    expect(stats.requests.s3.get).toBeGreaterThan(0);
    expect((await box.cli(["verify", mnt])).code).toBe(0);
  });

  it("refuses --package on a mount", async () => {
    const r = await box.cli(["verify", mnt, "--package", `${name}:v1`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--package does not apply to a mount");
    const dirOnly = await box.cli(["verify", box.root, "--cached-only"]);
    expect(dirOnly.code).toBe(2);
    expect(dirOnly.stderr).toContain("--cached-only applies to a quilt mount");
  });
});
