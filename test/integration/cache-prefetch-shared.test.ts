// `quilt cache prefetch` into a shared data directory (QUILT_CACHE_DATA_DIR, as GPU nodes
// name one on EFS/NFS) warms it for everything else that names it: a mount of a daemon with
// its own state directory and an install from another cache directory then read the
// prefetched files with zero GETs of their data (counted by a proxy in front of moto).
// Prefetch takes several prefixes, resumes (a second run fetches only what is missing), goes
// on past a file that fails, and prints a JSON summary for scripts.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DaemonSandbox } from "../helpers/daemon-harness.js";
import { mountDifferences, publishFiles, pseudoRandomBytes } from "../helpers/daemon-fixtures.js";
import { startFaultProxy, type FaultProxy } from "../helpers/daemon-proxy.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`Skipping the shared prefetch mount test: ${unavailable}`);

const s3 = s3TestEnv();
const registry = `s3://${s3.bucket}`;
const salt = uniquePrefix("prefetch");
const name = `${salt}/warm`;
const dataPrefix = `${salt}-data/`;
const MiB = 1024 * 1024;
const FILES: Record<string, Buffer> = {
  "train/a.bin": pseudoRandomBytes(150_001, `${salt}-a`),
  "train/b.bin": pseudoRandomBytes(90_003, `${salt}-b`),
  // Several blocks, verified whole.
  "train/shard.bin": pseudoRandomBytes(3 * MiB + 5, `${salt}-shard`),
  "val/c.bin": pseudoRandomBytes(70_007, `${salt}-c`),
  "val/d.bin": pseudoRandomBytes(60_011, `${salt}-d`),
  "test/e.bin": pseudoRandomBytes(50_013, `${salt}-e`),
};
const size = (prefix: string) =>
  Object.entries(FILES)
    .filter(([k]) => k.startsWith(prefix))
    .reduce((n, [, b]) => n + b.length, 0);

interface PrefetchJson {
  name: string;
  prefixes: string[];
  dataDir: string;
  entries: number;
  bytes: number;
  bytesFetched: number;
  entriesCached: number;
  bytesCached: number;
  errors: { logicalKey: string; code: string; message: string }[];
}

describe("quilt cache prefetch into a shared data directory", () => {
  let proxy: FaultProxy;
  let shared = "";
  const boxes: DaemonSandbox[] = [];
  const box = async (label: string) => {
    const b = await DaemonSandbox.create(label, { endpoint: proxy.endpoint, dataDir: shared });
    boxes.push(b);
    return b;
  };
  const dataGets = () => proxy.gets(dataPrefix).length;
  const prefetch = async (b: DaemonSandbox, args: string[]) => {
    const r = await b.cli(["cache", "prefetch", `${name}:v1`, ...args, "--registry", registry, "--json"]);
    return { ...r, json: r.stdout ? (JSON.parse(r.stdout) as PrefetchJson) : undefined };
  };

  beforeAll(async () => {
    await publishFiles(s3.endpoint, registry, name, FILES, { prefix: dataPrefix });
    proxy = await startFaultProxy(s3.endpoint);
    shared = await mkdtemp(join(tmpdir(), "quilt-prefetch-shared-"));
  });

  afterAll(async () => {
    for (const b of boxes) await b.cleanup();
    await proxy?.close();
    if (shared) await rm(shared, { recursive: true, force: true });
  });

  it("prefetches several prefixes in parallel, resumes with only what is missing, and reports it as JSON", async () => {
    const node = await box("prefetch");
    const first = await prefetch(node, ["train/"]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.json).toMatchObject({
      name,
      prefixes: ["train/"],
      dataDir: shared,
      entries: 3,
      bytes: size("train/"),
      bytesFetched: size("train/"),
      entriesCached: 0,
      bytesCached: 0,
      errors: [],
    });

    // Resumed with more prefixes (one overlapping): only val/ is fetched.
    const before = dataGets();
    const second = await prefetch(node, ["train/", "val/", "train/a.bin"]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.json).toMatchObject({
      entries: 5,
      bytes: size("train/") + size("val/"),
      bytesFetched: size("val/"),
      entriesCached: 3,
      bytesCached: size("train/"),
      errors: [],
    });
    expect(
      proxy
        .gets(dataPrefix)
        .slice(before)
        .every((g) => g.key.includes("/val/")),
    ).toBe(true);

    const third = await prefetch(node, ["train/", "val/"]);
    expect(third.json).toMatchObject({ bytesFetched: 0, entriesCached: 5 });
    expect(dataGets()).toBe(before + 2);

    // Human output says the same.
    const human = await node.ok(["cache", "prefetch", `${name}:v1`, "val/", "--registry", registry]);
    expect(human.stdout).toContain(`Cached 2 of 2 files`);
    expect(human.stdout).toContain("fetched 0 B; already cached: 2 files");

    const missing = await node.cli(["cache", "prefetch", `${name}:v1`, "nope/", "--registry", registry]);
    expect(missing.code).toBe(4);
    expect((await node.cli(["cache", "stats", "val/"])).code).toBe(2);
    expect(
      (await node.cli(["cache", "prefetch", `${name}:v1`, "--concurrency", "0", "--registry", registry]))
        .code,
    ).toBe(2);
  });

  it("installs from the warm shared directory with zero GETs of data, from another cache directory", async () => {
    const node = await box("install");
    expect(node.cacheDir).not.toBe(boxes[0]?.cacheDir);
    const dest = join(node.root, "dest");
    const before = dataGets();
    await node.ok([
      "install",
      `${name}:v1`,
      "--registry",
      registry,
      "--dest",
      dest,
      "--path",
      "train/",
      "--path",
      "val/",
    ]);
    expect(dataGets()).toBe(before);
    for (const key of Object.keys(FILES).filter((k) => !k.startsWith("test/"))) {
      expect((await readFile(join(dest, ...key.split("/")))).equals(FILES[key] as Buffer), key).toBe(true);
    }
  });

  it.skipIf(unavailable !== null)(
    "a daemon with its own state directory reads the prefetched files with zero GETs",
    async () => {
      const node = await box("mount");
      const mnt = await node.mountDir();
      await node.mount(`${name}:v1`, mnt, registry);
      const before = dataGets();
      const statsBefore = await node.stats();
      // test/ was not prefetched: listed, not read.
      expect(await mountDifferences(mnt, FILES, ["test/e.bin"])).toEqual([]);
      expect(dataGets()).toBe(before);
      const stats = await node.stats();
      // Mounting fetched the manifest; reading fetched nothing.
      expect(stats.requests.s3.bytesFetched).toBe(statsBefore.requests.s3.bytesFetched);
      expect(stats.cache.hashMismatches).toBe(0);
    },
  );

  it("goes on past a file that fails, reports it, and exits with its status", async () => {
    const node = await box("failing");
    proxy.failGets(`${dataPrefix}test/`);
    try {
      const r = await prefetch(node, ["test/", "val/"]);
      expect(r.code).toBe(3);
      expect(r.json).toMatchObject({ entries: 3, entriesCached: 2, bytesFetched: 0 });
      expect(r.json?.errors).toEqual([
        expect.objectContaining({ logicalKey: "test/e.bin", code: "ESTORAGE" }),
      ]);
    } finally {
      proxy.clearFaults();
    }
    const again = await prefetch(node, ["test/"]);
    expect(again.json).toMatchObject({ bytesFetched: size("test/"), errors: [] });
  });
});
