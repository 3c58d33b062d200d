// Where the data blocks live (one rule for the daemon, the library and the CLI) and the
// switch for fetch claims in a shared data directory.
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { Session } from "../../src/session.js";
import { cacheClaims, cacheDataDir } from "../../src/config.js";
import { daemonPaths } from "../../src/daemon/paths.js";

describe("cacheDataDir", () => {
  it("is QUILT_CACHE_DATA_DIR when set, else data under the cache directory, for the daemon and the library alike", () => {
    const env = { HOME: "/home/u", QUILT_CACHE_DIR: "/c", QUILT_STATE_DIR: "/s" };
    expect(cacheDataDir(env)).toBe(join("/c", "data"));
    const shared = { ...env, QUILT_CACHE_DATA_DIR: "/efs/quilt" };
    expect(cacheDataDir(shared)).toBe("/efs/quilt");
    expect(daemonPaths(shared).data).toBe("/efs/quilt");
    expect(new Session({ env: shared }).dataDir).toBe("/efs/quilt");
    expect(new Session({ env }).dataDir).toBe(join("/c", "data"));
    // A library context with its own cache directory still follows QUILT_CACHE_DATA_DIR.
    expect(new Session({ env: shared, cacheDir: "/mine" }).dataDir).toBe("/efs/quilt");
    expect(new Session({ env: shared, dataDir: "/other" }).dataDir).toBe("/other");
    expect(cacheDataDir({ ...env, QUILT_CACHE_DATA_DIR: "rel/dir" })).toBe(resolve("rel/dir"));
    // --cache-dir of a mount or `daemon start` wins.
    expect(daemonPaths(shared, "/flag").data).toBe("/flag");
  });
});

describe("cacheClaims", () => {
  it("is on unless QUILT_CACHE_CLAIMS is 0 or off; anything else is refused with the variable's name", () => {
    expect(cacheClaims({})).toBe(true);
    expect(cacheClaims({ QUILT_CACHE_CLAIMS: "1" })).toBe(true);
    expect(cacheClaims({ QUILT_CACHE_CLAIMS: "ON" })).toBe(true);
    expect(cacheClaims({ QUILT_CACHE_CLAIMS: "0" })).toBe(false);
    expect(cacheClaims({ QUILT_CACHE_CLAIMS: "off" })).toBe(false);
    expect(() => cacheClaims({ QUILT_CACHE_CLAIMS: "maybe" })).toThrow(/QUILT_CACHE_CLAIMS/);
  });
});
