// The mount's promise, "this version's bytes or an error", against bytes corrupted in flight
// by a proxy in front of moto (one flipped byte at a chosen object offset):
// - a small object (one chunk) is never served nor cached before it matched: EIO, then the
//   right bytes once the fault is gone;
// - a large object whose chunk digests S3 reports (faked part checksums) fails only the
//   chunk that is wrong, and nothing wrong is served; part checksums that contradict the
//   manifest refuse the object before a byte of it is read;
// - a large object without digests streams unverified (the documented trade-off) until the
//   read that completes it fails; every later read fails too, including a re-open of bytes
//   the kernel had cached (its page cache is dropped); `quilt mounts` and `quilt verify` say
//   so; force-match repairs it once the source is right;
// - with --verify=strict such an object serves no byte before it matched whole.
import { open } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeleteObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { MountInfoReply } from "../../src/daemon/package-mount.js";
import type { Manifest } from "../../src/manifest/manifest.js";
import { FAKE_AWS_ENV } from "../helpers/moto-server.js";
import { DaemonSandbox } from "../helpers/daemon-harness.js";
import { errnoOf, publishFiles, pseudoRandomBytes, readAt } from "../helpers/daemon-fixtures.js";
import { startFaultProxy, type FaultProxy } from "../helpers/daemon-proxy.js";
import { partsOf } from "../helpers/fault-proxy-s3.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`Skipping mount integrity tests: ${unavailable}`);

const s3 = s3TestEnv();
const registry = `s3://${s3.bucket}`;
const salt = uniquePrefix("integrity");
const name = `${salt}/data`;
const MiB = 1024 * 1024;
const CHUNK = 8 * MiB;

const FILES: Record<string, Buffer> = {
  "small.bin": pseudoRandomBytes(300_001, `${salt}-small`),
  "digests.bin": pseudoRandomBytes(CHUNK + 2 * MiB + 7, `${salt}-digests`),
  "lying.bin": pseudoRandomBytes(CHUNK + MiB + 3, `${salt}-lying`),
  "stream.bin": pseudoRandomBytes(CHUNK + 2 * MiB + 5, `${salt}-stream`),
  "strict.bin": pseudoRandomBytes(CHUNK + MiB + 11, `${salt}-strict`),
  "cut.bin": pseudoRandomBytes(2 * MiB + 1, `${salt}-cut`),
  "deleted.bin": pseudoRandomBytes(CHUNK + 2 * MiB + 17, `${salt}-deleted`),
  "overwritten.bin": pseudoRandomBytes(CHUNK + 2 * MiB + 19, `${salt}-overwritten`),
};

async function readAll(path: string): Promise<Buffer> {
  const fh = await open(path, "r");
  try {
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

describe.skipIf(unavailable !== null)("mount integrity: bytes corrupted in flight", () => {
  let proxy: FaultProxy;
  let box: DaemonSandbox;
  let mnt = "";

  let manifest: Manifest;

  beforeAll(async () => {
    ({ manifest } = await publishFiles(s3.endpoint, registry, name, FILES, { prefix: `${salt}-objects/` }));
    proxy = await startFaultProxy(s3.endpoint);
    box = await DaemonSandbox.create("integrity", { endpoint: proxy.endpoint });
    mnt = await box.mountDir();
    await box.mount(`${name}:v1`, mnt, registry, ["--cache-size", "256M"]);
  });

  afterAll(async () => {
    await box?.cleanup();
    await proxy?.close();
  });

  it("never serves nor caches a small object before it matched: EIO, then the right bytes", async () => {
    proxy.corrupt("small.bin", { offset: 123_456 });
    const bad = await errnoOf(readAll(join(mnt, "small.bin")));
    expect(bad).toBe("EIO");
    const stats = await box.stats();
    expect(stats.cache.hashMismatches).toBeGreaterThan(0);
    expect(stats.cache.blocks).toBe(0);
    proxy.clearFaults();
    expect((await readAll(join(mnt, "small.bin"))).equals(FILES["small.bin"] as Buffer)).toBe(true);
  });

  it("verifies each chunk against S3's part checksums: only the wrong chunk fails, nothing wrong is served", async () => {
    const data = FILES["digests.bin"] as Buffer;
    proxy.fakeObjectParts("digests.bin", partsOf(data));
    proxy.corrupt("digests.bin", { offset: CHUNK + 4096 });
    const head = await readAt(join(mnt, "digests.bin"), 0, 4096);
    expect(head.equals(data.subarray(0, 4096))).toBe(true);
    const inBadChunk = await errnoOf(readAt(join(mnt, "digests.bin"), CHUNK, 4096));
    expect(inBadChunk).toBe("EIO");
    // The part list was asked for (once) before any unverified byte could go out.
    expect(proxy.requests.some((r) => r.key.endsWith("digests.bin") && /attributes/.test(r.query))).toBe(
      true,
    );
    proxy.clearFaults();
    expect((await readAll(join(mnt, "digests.bin"))).equals(data)).toBe(true);
    const info = JSON.parse((await box.ok(["mounts", "--json"])).stdout) as MountInfoReply[];
    expect(info[0]?.unverifiedFiles).not.toContain("digests.bin");
  });

  it("refuses an object whose part checksums contradict the manifest before a byte of it is read", async () => {
    const data = Buffer.from(FILES["lying.bin"] as Buffer);
    data[5] = (data[5] as number) ^ 1; // S3 says it holds other bytes
    proxy.fakeObjectParts("lying.bin", partsOf(data));
    const before = proxy.gets("lying.bin").length;
    expect(await errnoOf(readAt(join(mnt, "lying.bin"), 0, 4096))).toBe("EIO");
    expect(proxy.gets("lying.bin").filter((r) => !/attributes/.test(r.query)).length).toBe(before);
    proxy.clearFaults();
  });

  it("streams a large object without digests, fails the read that completes it and every later one, and drops its page cache", async () => {
    const data = FILES["stream.bin"] as Buffer;
    const path = join(mnt, "stream.bin");
    proxy.corrupt("stream.bin", { offset: CHUNK + MiB + 99 });
    // The documented trade-off: bytes ahead of the verdict are served (here, right ones).
    const first = await readAt(path, 0, 4096);
    expect(first.equals(data.subarray(0, 4096))).toBe(true);
    const whole = await errnoOf(readAll(path));
    expect(whole).toBe("EIO");
    // Re-opened, even the bytes the kernel had cached are gone: the read reaches the daemon and fails.
    const again = await errnoOf(readAt(path, 0, 4096));
    expect(again).toBe("EIO");
    const info = JSON.parse((await box.ok(["mounts", "--json"])).stdout) as MountInfoReply[];
    expect(info[0]?.failedFiles).toContain("stream.bin");
    expect((await box.ok(["mounts"])).stdout).toMatch(/\d+ FAILED verification \([^)]*stream\.bin/);
    const verify = await box.cli(["verify", mnt, "--cached-only"]);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain(`${mnt}/stream.bin does not match manifest`);
    // Repaired once the source serves the right bytes again.
    proxy.clearFaults();
    const fixed = await box.cli(["force-match", mnt, "--cached-only"]);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    expect(fixed.stdout).toContain(`${mnt}/stream.bin evicted from the cache and fetched again`);
    expect((await readAll(path)).equals(data)).toBe(true);
  });

  it("--verify=strict serves no byte of a large object without digests before it matched whole", async () => {
    const data = FILES["strict.bin"] as Buffer;
    const strictMnt = await box.mountDir("strict");
    await box.mount(`${name}:v1`, strictMnt, registry, ["--verify", "strict"]);
    proxy.corrupt("strict.bin", { offset: CHUNK + 17 });
    const path = join(strictMnt, "strict.bin");
    expect(await errnoOf(readAt(path, 0, 4096))).toBe("EIO");
    const info = (JSON.parse((await box.ok(["mounts", "--json"])).stdout) as MountInfoReply[]).find(
      (m) => m.mountpoint === strictMnt,
    );
    expect(info?.verify).toBe("strict");
    expect(info?.unverifiedFiles).toEqual([]);
    proxy.clearFaults();
    // The failed verdict stays with the source until a force-match clears it.
    expect((await box.cli(["force-match", strictMnt, "--cached-only"])).code).toBe(0);
    expect((await readAt(path, 0, 4096)).equals(data.subarray(0, 4096))).toBe(true);
    expect((await readAll(path)).equals(data)).toBe(true);
  });

  it("a body cut short is never served short: retried, then EIO when it keeps happening", async () => {
    const data = FILES["cut.bin"] as Buffer;
    proxy.truncate("cut.bin", { afterBytes: 1000 });
    const start = Date.now();
    expect(await errnoOf(readAll(join(mnt, "cut.bin")))).toBe("EIO");
    expect(Date.now() - start).toBeLessThan(30_000); // an error, not a hang
    proxy.clearFaults();
    proxy.truncate("cut.bin", { afterBytes: 1000, times: 1 });
    expect((await readAll(join(mnt, "cut.bin"))).equals(data)).toBe(true);
    proxy.clearFaults();
  });

  it("between two ranged reads: a deleted version fails the next read; an overwrite is not mixed in (reads are pinned)", async () => {
    const client = new S3Client({
      endpoint: s3.endpoint,
      forcePathStyle: true,
      region: "us-east-1",
      credentials: {
        accessKeyId: FAKE_AWS_ENV.AWS_ACCESS_KEY_ID,
        secretAccessKey: FAKE_AWS_ENV.AWS_SECRET_ACCESS_KEY,
      },
    });
    try {
      const deleted = manifest.get("deleted.bin");
      const overwritten = manifest.get("overwritten.bin");
      if (!deleted || !overwritten) throw new Error("fixture");
      const delPath = join(mnt, "deleted.bin");
      expect(
        (await readAt(delPath, 0, 4096)).equals((FILES["deleted.bin"] as Buffer).subarray(0, 4096)),
      ).toBe(true);
      await client.send(
        new DeleteObjectCommand({
          Bucket: s3.bucket,
          Key: deleted.physicalKey.path,
          VersionId: deleted.physicalKey.versionId ?? undefined,
        }),
      );
      // ESTALE: the pinned version is gone (Node names errno 116 "Unknown system error -116").
      expect(await errnoOf(readAt(delPath, CHUNK + MiB, 4096))).toMatch(
        /^(ESTALE|Unknown system error -116|EIO)$/,
      );

      const data = FILES["overwritten.bin"] as Buffer;
      const path = join(mnt, "overwritten.bin");
      expect((await readAt(path, 0, 4096)).equals(data.subarray(0, 4096))).toBe(true);
      await client.send(
        new PutObjectCommand({
          Bucket: s3.bucket,
          Key: overwritten.physicalKey.path,
          Body: Buffer.alloc(data.length, 7),
        }),
      );
      expect((await readAll(path)).equals(data)).toBe(true);
    } finally {
      client.destroy();
    }
  });
});
