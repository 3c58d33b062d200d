// `quilt cache prefetch|stats|clear` on a local registry: a prefetched file is served from
// the cache even after its registry copy is gone; clear empties the cache (the library's and
// the daemon's blocks, not those of other daemons sharing the data directory unless --all).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PackageBuilder, Session } from "../../src/index.js";
import { BlockCache } from "../../src/cache/block-cache.js";
import { layoutDir, objectDir } from "../../src/cache/block-file.js";
import { DEFAULT_BLOCK_BYTES } from "../../src/cache/block-layout.js";
import { cacheObject } from "../../src/cache/content-key.js";
import { hashBytes } from "../../src/manifest/checksums.js";
import { runCli } from "../helpers/cli.js";
import { FakeRemote, filesUnder } from "../unit/cache-fixtures.js";

describe("quilt cache", () => {
  it("prefetch fills the cache, stats reports it, clear empties it", async () => {
    const root = mkdtempSync(join(tmpdir(), "quilt-cli-cache-"));
    const registry = join(root, "registry");
    mkdirSync(join(root, "src", "val"), { recursive: true });
    writeFileSync(join(root, "src", "val", "a.bin"), Buffer.alloc(3000, 7));
    writeFileSync(join(root, "src", "val", "b.bin"), Buffer.alloc(5000, 9));
    writeFileSync(join(root, "src", "README.md"), "# r\n");
    const ctx = new Session({ cacheDir: join(root, "lib-cache") });
    const b = new PackageBuilder("ns/cached", { registry, session: ctx });
    await b.add(join(root, "src"), "");
    await b.pushDataAndManifest({ prefix: "data", tag: "v1" });
    await ctx.close();
    const env = {
      QUILT_REGISTRY: registry,
      QUILT_CACHE_DIR: join(root, "cache"),
      QUILT_STATE_DIR: join(root, "state"),
    };

    const pre = await runCli(["cache", "prefetch", "ns/cached:v1", "val/", "--json"], { env });
    expect(pre.code, pre.stderr).toBe(0);
    expect(JSON.parse(pre.stdout)).toMatchObject({ name: "ns/cached", entries: 2, bytes: 8000 });
    const stats = JSON.parse((await runCli(["cache", "stats", "--json"], { env })).stdout) as {
      library: { objects: number; bytes: number };
    };
    expect(stats.library.objects).toBe(2);
    expect(stats.library.bytes).toBeGreaterThanOrEqual(8000);

    rmSync(join(registry, "data", "val", "a.bin"));
    const cat = await runCli(["cat", "ns/cached:v1", "val/a.bin"], { env });
    expect(cat.code, cat.stderr).toBe(0);
    expect(cat.stdout).toBe("\u0007".repeat(3000));

    expect((await runCli(["cache", "clear"], { env })).code).toBe(0);
    expect(JSON.parse((await runCli(["cache", "stats", "--json"], { env })).stdout).library.objects).toBe(0);
    expect((await runCli(["cat", "ns/cached:v1", "val/a.bin"], { env })).code).not.toBe(0);
    const bad = await runCli(["cache", "prefetch"], { env });
    expect(bad.code).toBe(2);
  });

  it("clear with no daemon running clears the stopped daemon's blocks too, through its index; others' stay unless --all", async () => {
    const root = mkdtempSync(join(tmpdir(), "quilt-cli-cache-"));
    const env = { QUILT_CACHE_DIR: join(root, "cache"), QUILT_STATE_DIR: join(root, "state") };
    const daemonIndex = join(root, "state", "index");
    const dataDir = join(root, "cache", "data");
    const put = async (indexDir: string, fill: number) => {
      const bytes = Buffer.alloc(4000, fill);
      const obj = cacheObject(await hashBytes(bytes, "sha2-256-chunked"), bytes.length);
      const cache = await BlockCache.open({ dataDir, indexDir, maxBytes: 1 << 30, reconcile: "wait" });
      await cache.read(obj, 0, bytes.length, new FakeRemote(bytes).fetch);
      await cache.close();
      return objectDir(layoutDir(dataDir, DEFAULT_BLOCK_BYTES), obj.key);
    };
    const daemons = await put(daemonIndex, 1);
    const others = await put(join(root, "other-daemon-index"), 2);

    expect((await runCli(["cache", "clear"], { env })).code).toBe(0);
    expect(await filesUnder(daemons)).toEqual([]);
    expect(await filesUnder(others)).toHaveLength(1);
    const reopened = await BlockCache.open({
      dataDir,
      indexDir: daemonIndex,
      maxBytes: 1 << 30,
      reconcile: "never",
    });
    expect(reopened.stats()).toMatchObject({ blocks: 0, objects: 0 });
    await reopened.close();

    expect((await runCli(["cache", "clear", "--all"], { env })).code).toBe(0);
    expect(await filesUnder(others)).toEqual([]);
    expect((await runCli(["cache", "stats", "--all"], { env })).code).toBe(2);
  });
});
