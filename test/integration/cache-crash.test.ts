// kill -9 in the middle of reads and evictions, then a restart: the cache must be
// consistent (the index rebuilt from the files it missed, the limit held) and never serve
// a wrong byte.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BlockCache } from "../../src/cache/block-cache.js";
import { isTempName } from "../../src/cache/block-file.js";
import { cacheObject } from "../../src/cache/content-key.js";
import { hashBytes } from "../../src/manifest/checksums.js";
import { filesUnder, tempDir } from "../unit/cache-fixtures.js";
import { CRASH_BLOCK, CRASH_LIMIT, crashObjectData } from "./cache-crash-child.js";

let dir: { path: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  dir = await tempDir("crash");
});
afterEach(async () => dir.cleanup());

function runAndKill(dataDir: string, indexDir: string, afterReadyMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(import.meta.dirname, "cache-crash-child.ts"), dataDir, indexDir],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    child.stdout.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("ready")) setTimeout(() => child.kill("SIGKILL"), afterReadyMs);
    });
    child.on("exit", (code, signal) =>
      signal === "SIGKILL" ? resolve() : reject(new Error(`child exited with ${code}`)),
    );
  });
}

describe("BlockCache after kill -9", () => {
  it("restarts consistent and serves only correct bytes", { timeout: 60_000 }, async () => {
    const dataDir = join(dir.path, "data");
    const indexDir = join(dir.path, "index");
    for (const ms of [50, 150]) await runAndKill(dataDir, indexDir, ms);

    const cache = await BlockCache.open({
      dataDir,
      indexDir,
      maxBytes: CRASH_LIMIT,
      blockSize: CRASH_BLOCK,
      wholeObjectBytes: 256 * 1024,
      reconcile: "wait",
    });
    try {
      const blocks = (await filesUnder(dataDir)).filter((f) => !isTempName(f.path.split("/").pop() ?? ""));
      const onDisk = blocks.reduce((sum, f) => sum + f.size, 0);
      expect(cache.stats().bytes).toBe(onDisk); // every block file is counted, none twice
      expect(onDisk).toBeLessThanOrEqual(CRASH_LIMIT);
      for (let i = 0; i < 8; i++) {
        const data = crashObjectData(i);
        const obj = cacheObject(await hashBytes(data), data.length);
        let fetched = 0;
        const fetch = async (r: { start: number; end: number }) => {
          fetched += r.end - r.start;
          return Buffer.from(data.subarray(r.start, r.end));
        };
        expect((await cache.read(obj, 0, data.length, fetch)).equals(data)).toBe(true);
        expect(fetched).toBeLessThanOrEqual(data.length);
      }
      expect(cache.stats().hashMismatches).toBe(0);
    } finally {
      await cache.close();
    }
  });
});
