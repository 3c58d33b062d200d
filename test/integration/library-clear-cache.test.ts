// Package.clearCache() clears what the library's cache owns (issue 12, point 5): the blocks
// its own index lists. A mount daemon keeps its index under its state directory but its
// blocks in the same data directory by default; those stay readable, unless the caller asks
// for { all: true }. Real LMDB indexes, real files, a local registry.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BlockCache } from "../../src/cache/block-cache.js";
import { layoutDir, objectDir } from "../../src/cache/block-file.js";
import { DEFAULT_BLOCK_BYTES } from "../../src/cache/block-layout.js";
import { cacheObject } from "../../src/cache/content-key.js";
import { hashBytes } from "../../src/manifest/checksums.js";
import { PackageBuilder, Session } from "../../src/index.js";
import { FakeRemote, filesUnder } from "../unit/cache-fixtures.js";

describe("Package.clearCache", () => {
  it("deletes the library's blocks only; a daemon's blocks in the same data directory stay, unless all", async () => {
    const root = mkdtempSync(join(tmpdir(), "quilt-clear-"));
    mkdirSync(join(root, "src"));
    writeFileSync(join(root, "src", "a.bin"), Buffer.alloc(3000, 7));
    const cacheDir = join(root, "cache");
    const ctx = new Session({ cacheDir, env: { HOME: root } });
    // The daemon's cache: same data directory (the default), its own index in its state directory.
    const daemon = await BlockCache.open({
      dataDir: join(cacheDir, "data"),
      indexDir: join(root, "state", "index"),
      maxBytes: 1 << 30,
      reconcile: "wait",
    });
    try {
      const b = new PackageBuilder("ns/clear", { registry: join(root, "registry"), session: ctx });
      await b.add(join(root, "src"), "");
      const pkg = await b.pushDataAndManifest({ prefix: "data", tag: "v1" });
      await pkg.cache();
      const bytes = Buffer.alloc(5000, 9);
      const obj = cacheObject(await hashBytes(bytes, "sha2-256-chunked"), bytes.length);
      const remote = new FakeRemote(bytes);
      await daemon.read(obj, 0, bytes.length, remote.fetch);
      await daemon.idle();
      const layout = layoutDir(join(cacheDir, "data"), DEFAULT_BLOCK_BYTES);
      const daemonFiles = await filesUnder(objectDir(layout, obj.key));
      expect(daemonFiles).toHaveLength(1);
      expect((await filesUnder(layout)).length).toBe(2);

      await pkg.clearCache();
      expect((await ctx.blockCache()).stats()).toMatchObject({ blocks: 0, objects: 0 });
      expect(await filesUnder(layout)).toEqual(daemonFiles);
      // The daemon reads its block from disk, without a fetch (a new process: nothing in memory).
      const restarted = await BlockCache.open({
        dataDir: join(cacheDir, "data"),
        indexDir: join(root, "state", "index2"),
        maxBytes: 1 << 30,
        reconcile: "wait",
      });
      try {
        remote.reset();
        expect((await restarted.read(obj, 0, bytes.length, remote.fetch)).equals(bytes)).toBe(true);
        expect(remote.requests).toHaveLength(0);
      } finally {
        await restarted.close();
      }

      await pkg.clearCache({ all: true });
      expect(await filesUnder(layout)).toEqual([]);
    } finally {
      await daemon.close();
      await ctx.close();
    }
  });
});
