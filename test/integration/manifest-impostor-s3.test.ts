// The manifest-cache poisoning attack on S3, across the library and the daemon: an impostor
// of a real package (same top hash, physical keys in another bucket holding other bytes) is
// browsed with the library first; a daemon sharing the same QUILT_CACHE_DIR then mounts the
// real package and must serve the real bytes, and the library must still see the real keys.
// Both processes must file the registry under the same identity (bucket + endpoint).
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Package, Session } from "../../src/index.js";
import { createS3Store } from "../../src/storage/s3-store.js";
import { registryCacheId } from "../../src/storage/manifest-cache.js";
import { DaemonSandbox } from "../helpers/daemon-harness.js";
import { mountDifferences, pseudoRandomBytes, publishFiles } from "../helpers/daemon-fixtures.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";
import { plantImpostor, type Impostor } from "../helpers/impostor.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`Skipping the daemon part of the S3 impostor test: ${unavailable}`);

const s3 = s3TestEnv();
const real = `s3://${s3.bucket}`;
const fake = `s3://${s3.otherBucket}`;
const salt = uniquePrefix("impostor");
const name = `${salt}/pkg`;
const FILES: Record<string, Buffer> = {
  "README.md": Buffer.from(`# real ${salt}\n`),
  "data/a.bin": pseudoRandomBytes(300_001, `${salt}-a`),
  "data/b.csv": Buffer.from("x,y\n1,2\n"),
};

let box: DaemonSandbox;
let topHash: string;
let impostor: Impostor;

beforeAll(async () => {
  topHash = (await publishFiles(s3.endpoint, real, name, FILES, { prefix: `${salt}-data/` })).topHash;
  const store = createS3Store({ endpoint: s3.endpoint });
  impostor = await plantImpostor({
    source: { registry: real, store },
    name,
    topHash,
    target: { registry: fake, store, dataPrefix: `${salt}-impostor` },
  });
  await store.close();
  box = await DaemonSandbox.create("impostor", { endpoint: s3.endpoint });
});

afterAll(async () => {
  await box?.cleanup();
});

const library = (): Session => new Session({ cacheDir: box.cacheDir, s3: { endpoint: s3.endpoint } });

describe("an impostor in another bucket", () => {
  it("has the real top hash and versioned physical keys in the other bucket", () => {
    expect(impostor.manifest.topHash).toBe(topHash);
    for (const e of impostor.manifest.entries) {
      expect(e.physicalKey.bucket).toBe(s3.otherBucket);
      expect(e.physicalKey.versionId).toBeTruthy();
    }
  });

  it("browsed first with the library, does not change what the library reads of the real package", async () => {
    const ctx = library();
    const seen = await Package.browse(`${name}:latest`, { registry: fake, session: ctx });
    expect([...seen].map((e) => e.physicalKey)).toEqual(
      impostor.manifest.entries.map((e) => e.physicalKey.toString()),
    );
    const pkg = await Package.browse(name, { registry: real, session: ctx });
    for (const e of pkg)
      expect(e.physicalKey.startsWith(`s3://${s3.bucket}/${salt}-data/`), e.physicalKey).toBe(true);
    expect((await pkg.getContents("data/a.bin")).equals(FILES["data/a.bin"] as Buffer)).toBe(true);
    await ctx.close();
  });

  it.skipIf(unavailable !== null)("nor what a daemon on the same cache directory mounts", async () => {
    const mnt = await box.mountDir();
    await box.mount(`${name}:latest`, mnt, real);
    expect(await mountDifferences(mnt, FILES)).toEqual([]);
    // The library and the daemon filed each registry under one identity (bucket + endpoint).
    const dirs = (await readdir(join(box.cacheDir, "manifests"))).sort();
    const id = (bucket: string) =>
      registryCacheId(`s3://${bucket} endpoint=${new URL(s3.endpoint).href.replace(/\/+$/, "")}`);
    expect(dirs).toEqual([id(s3.bucket), id(s3.otherBucket)].sort());
  });
});
