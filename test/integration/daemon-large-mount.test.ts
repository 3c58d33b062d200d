// A 20,000-entry package (nested directories and one flat directory of 5,000) mounted from
// a local registry through the manifest index: `find` sees every entry with its size and
// makes no S3 request; a remount, and a daemon restart after kill -9, read the index and
// not the JSONL (the manifest is deleted from the registry and from the manifest cache
// first, and nothing writes it back); three versions are mounted at once.
import { execFile } from "node:child_process";
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bigManifest, pushBigPackage, type BigPackage } from "../helpers/big-manifest.js";
import { DaemonSandbox } from "../helpers/daemon-harness.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`Skipping large-mount tests: ${unavailable}`);

const NAME = "big/pkg";
const V1: BigPackage = { files: 20_000, perDir: 1000, flat: 5000, seed: "v1" };
const V2: BigPackage = { files: 3000, perDir: 400, flat: 500, seed: "v2" };
const V3: BigPackage = { files: 3000, perDir: 300, flat: 700, seed: "v3" };

/** `find DIR -type f` as logical key -> size. */
async function findFiles(dir: string): Promise<Map<string, number>> {
  const { stdout } = await promisify(execFile)("find", [dir, "-type", "f", "-printf", "%P\\t%s\\n"], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return new Map(
    stdout
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => {
        const [k, s] = l.split("\t") as [string, string];
        return [k, Number(s)];
      }),
  );
}

function expected(p: BigPackage): Map<string, number> {
  return new Map(bigManifest(p).entries.map((e) => [e.logicalKey, e.size]));
}

describe.skipIf(unavailable !== null)("daemon: a 20,000-entry mount through the manifest index", () => {
  let box: DaemonSandbox;
  let registry = "";
  const hashes: string[] = [];

  beforeAll(async () => {
    box = await DaemonSandbox.create("large", { endpoint: "http://127.0.0.1:9" });
    registry = join(box.root, "registry");
    hashes.push(await pushBigPackage(registry, NAME, V1, "v1"));
    hashes.push(await pushBigPackage(registry, NAME, V2, "v2"));
    hashes.push(await pushBigPackage(registry, NAME, V3, "v3"));
  });

  afterAll(async () => {
    await box?.cleanup();
  });

  it("finds every entry with its size, and makes no S3 request", async () => {
    const mnt = await box.mountDir("m1");
    await box.mount(`${NAME}:v1`, mnt, registry);
    const before = (await box.stats()).requests.s3;
    const found = await findFiles(mnt);
    expect(found.size).toBe(V1.files);
    expect(found).toEqual(expected(V1));
    expect((await readdir(join(mnt, "flat"))).length).toBe(V1.flat);
    expect((await box.stats()).requests.s3).toEqual(before);
  });

  it("remounts and restores after kill -9 from the index: the manifest is gone from the registry and the cache, and stays gone", async () => {
    const mnt = join(box.root, "m1");
    await box.ok(["unmount", mnt]);
    const hash = hashes[0] as string;
    await rm(join(registry, ".quilt", "packages", hash));
    await rm(join(box.cacheDir, "manifests"), { recursive: true, force: true });
    await box.mount(`${NAME}:v1`, mnt, registry);
    expect((await findFiles(mnt)).size).toBe(V1.files);

    await box.kill9();
    await box.ok(["daemon", "start"]);
    const listed = JSON.parse((await box.ok(["mounts", "--json"])).stdout) as {
      mountpoint: string;
      topHash: string;
      entries: number;
    }[];
    expect(listed.map((m) => [m.topHash, m.entries])).toEqual([[hash, V1.files]]);
    expect(await findFiles(mnt)).toEqual(expected(V1));
    // Neither mount loaded the JSONL: a load would have put it in the manifest cache.
    const cached = await readdir(join(box.cacheDir, "manifests"), { recursive: true }).catch(() => []);
    expect(cached.filter((f) => String(f).includes(hash))).toEqual([]);
  });

  it("mounts three versions at once, each with its own entries", async () => {
    const m2 = await box.mountDir("m2");
    const m3 = await box.mountDir("m3");
    await box.mount(`${NAME}:v2`, m2, registry);
    await box.mount(`${NAME}:v3`, m3, registry);
    const [f1, f2, f3] = await Promise.all([findFiles(join(box.root, "m1")), findFiles(m2), findFiles(m3)]);
    expect(f1.size).toBe(V1.files);
    expect(f2).toEqual(expected(V2));
    expect(f3).toEqual(expected(V3));
    const listed = JSON.parse((await box.ok(["mounts", "--json"])).stdout) as { topHash: string }[];
    expect(listed.map((m) => m.topHash).sort()).toEqual([...hashes].sort());
  });
});
