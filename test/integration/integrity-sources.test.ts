// Bytes tied to their source, through the daemon and the shared data directory:
// - a forged registry: an impostor in another bucket has the real package's top hash but
//   physical keys to other bytes of the same sizes. Mounted and read first through the same
//   daemon and cache, it poisons nothing: the real package then mounts with its exact bytes,
//   installs exactly, and verifies honestly; a second daemon sharing the data directory
//   serves the real bytes too;
// - an object overwritten in place after push (a local registry file), on a fresh cache: a
//   small one is refused, a large one fails the read that completes it, and one overwritten
//   between two reads fails instead of mixing two versions.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Manifest } from "../../src/manifest/manifest.js";
import { createS3Store } from "../../src/storage/s3-store.js";
import { DaemonSandbox } from "../helpers/daemon-harness.js";
import {
  errnoOf,
  mountDifferences,
  publishFiles,
  pseudoRandomBytes,
  readAt,
  walkFiles,
} from "../helpers/daemon-fixtures.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";
import { plantImpostor } from "../helpers/impostor.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`Skipping source integrity tests: ${unavailable}`);

const s3 = s3TestEnv();
const MiB = 1024 * 1024;

describe.skipIf(unavailable !== null)("a forged registry with the real top hash", () => {
  const real = `s3://${s3.bucket}`;
  const fake = `s3://${s3.otherBucket}`;
  const salt = uniquePrefix("forged");
  const name = `${salt}/pkg`;
  const FILES: Record<string, Buffer> = {
    "small.bin": pseudoRandomBytes(200_003, `${salt}-small`),
    "large.bin": pseudoRandomBytes(8 * MiB + 3 * MiB + 1, `${salt}-large`),
  };
  let box: DaemonSandbox;
  let other: DaemonSandbox;

  beforeAll(async () => {
    const { topHash } = await publishFiles(s3.endpoint, real, name, FILES, { prefix: `${salt}-data/` });
    const store = createS3Store({ endpoint: s3.endpoint });
    try {
      await plantImpostor({
        source: { registry: real, store },
        name,
        topHash,
        target: { registry: fake, store, dataPrefix: `${salt}-impostor` },
      });
    } finally {
      await store.close();
    }
    box = await DaemonSandbox.create("forged", { endpoint: s3.endpoint });
    other = await DaemonSandbox.create("forged-other", { endpoint: s3.endpoint, dataDir: box.dataDir });
  });

  afterAll(async () => {
    await box?.cleanup();
    await other?.cleanup();
  });

  it("mounted and read first, then the real package through the same daemon and cache: exact bytes, exact install, honest verify", async () => {
    const mntFake = await box.mountDir("fake");
    await box.mount(`${name}:latest`, mntFake, fake);
    // The impostor's small file never matches its (real) hash; its large file was uploaded
    // in quilt's part layout, so S3's composite checksum already contradicts the manifest
    // and it is refused before a byte of it is read.
    expect(await errnoOf(readFile(join(mntFake, "small.bin")))).toBe("EIO");
    expect(await errnoOf(readAt(join(mntFake, "large.bin"), 0, 4096))).toBe("EIO");
    expect(await errnoOf(readFile(join(mntFake, "large.bin")))).toBe("EIO");
    // The library browses it too, through the same cache directory.
    expect((await box.cli(["ls", `${name}:latest`, "--registry", fake])).code).toBe(0);
    // Verify is honest about it: nothing of it matches, whether cached or fetched.
    for (const args of [["--cached-only"], []]) {
      const v = await box.cli(["verify", mntFake, ...args]);
      expect(v.code, v.stdout).toBe(1);
      expect(v.stdout).not.toContain("matches manifest");
    }

    const mntReal = await box.mountDir("real");
    await box.mount(`${name}:latest`, mntReal, real);
    expect(await mountDifferences(mntReal, FILES)).toEqual([]);
    const dest = join(box.root, "installed");
    await box.ok(["install", `${name}:latest`, "--registry", real, "--dest", dest]);
    const installed = await walkFiles(dest);
    for (const [key, bytes] of Object.entries(FILES))
      expect((await readFile(installed.get(key) as string)).equals(bytes), key).toBe(true);
    expect((await box.cli(["verify", mntReal, "--cached-only"])).code).toBe(0);
    // The cache is by content, and only verified content: the impostor's manifest names the
    // real package's hashes, so its mount now serves the real, verified bytes, never its own.
    expect(await mountDifferences(mntFake, FILES)).toEqual([]);
  });

  it("a second daemon sharing the data directory serves the real bytes after the first one read the impostor", async () => {
    const mnt = await other.mountDir("real");
    await other.mount(`${name}:latest`, mnt, real);
    expect(await mountDifferences(mnt, FILES)).toEqual([]);
  });
});

describe.skipIf(unavailable !== null)(
  "an object overwritten in place after push (local registry, fresh cache)",
  () => {
    const salt = uniquePrefix("overwrite");
    const name = `${salt}/pkg`;
    const FILES: Record<string, Buffer> = {
      "small.bin": pseudoRandomBytes(100_001, `${salt}-small`),
      "large.bin": pseudoRandomBytes(8 * MiB + 2 * MiB + 9, `${salt}-large`),
      "between.bin": pseudoRandomBytes(8 * MiB + 2 * MiB + 13, `${salt}-between`),
    };
    let box: DaemonSandbox;
    let manifest: Manifest;
    let registry = "";

    const pathOf = (key: string): string => {
      const e = manifest.get(key);
      if (!e || e.physicalKey.bucket !== null) throw new Error(`${key} is not a local object`);
      return e.physicalKey.path;
    };
    const overwrite = async (key: string): Promise<void> => {
      const bytes = Buffer.from(FILES[key] as Buffer);
      for (let i = 0; i < bytes.length; i += 4096) bytes[i] = (bytes[i] as number) ^ 0x5a;
      await writeFile(pathOf(key), bytes);
    };

    beforeAll(async () => {
      box = await DaemonSandbox.create("overwrite", { endpoint: s3.endpoint });
      registry = join(box.root, "registry");
      ({ manifest } = await publishFiles(s3.endpoint, registry, name, FILES, { prefix: "data" }));
      await overwrite("small.bin");
      await overwrite("large.bin");
    });

    afterAll(async () => {
      await box?.cleanup();
    });

    it("refuses a small one, fails a large one at the read that completes it, never mixes two versions", async () => {
      const mnt = await box.mountDir();
      await box.mount(`${name}:v1`, mnt, registry);
      expect(await errnoOf(readFile(join(mnt, "small.bin")))).toBe("EIO");
      expect(await errnoOf(readFile(join(mnt, "large.bin")))).toBe("EIO");
      expect(await errnoOf(readAt(join(mnt, "large.bin"), 0, 4096))).toBe("EIO");

      // Pinned at the first read: a change between two reads fails the second, it is not mixed in.
      const path = join(mnt, "between.bin");
      expect((await readAt(path, 0, 4096)).equals((FILES["between.bin"] as Buffer).subarray(0, 4096))).toBe(
        true,
      );
      await overwrite("between.bin");
      // ESTALE (errno 116, which Node names "Unknown system error -116") or EIO.
      expect(await errnoOf(readAt(path, 9 * MiB, 4096))).toMatch(/^(EIO|ESTALE|Unknown system error -116)$/);
    });
  },
);
