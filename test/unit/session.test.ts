// The composition root (src/session.ts) that the library, the CLI and the daemon all build:
// what it shares (a registry per URL, stores per S3 context, one block cache with its index
// where it is told) and what it must not keep (registries over other stores, whose manifest
// caches would hold every mounted version's manifest in a daemon's memory).
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseRegistryUrl } from "../../src/manifest/registry-url.js";
import { Session } from "../../src/session.js";

describe("Session", () => {
  const roots: string[] = [];
  const sessions: Session[] = [];
  afterEach(async () => {
    for (const s of sessions.splice(0)) await s.close();
    for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
  });
  function session(opts: ConstructorParameters<typeof Session>[0] = {}): Session {
    const root = mkdtempSync(join(tmpdir(), "quilt-session-"));
    roots.push(root);
    const s = new Session({ env: { HOME: root }, cacheDir: join(root, "cache"), ...opts });
    sessions.push(s);
    return s;
  }

  it("opens its block cache's index where it is told (the daemon's state directory), the library's by default", async () => {
    const lib = session();
    await lib.blockCache();
    expect(lib.indexDir).toBe(join(lib.cacheDir, "index", "library"));
    expect(existsSync(lib.indexDir)).toBe(true);
    const indexDir = join(roots[0]!, "state", "index");
    const daemon = session({ indexDir });
    expect(await daemon.blockCache()).toBe(await daemon.blockCache());
    expect(existsSync(indexDir)).toBe(true);
  });

  it("keeps one registry per URL, but opens a registry over other stores afresh each time", () => {
    const s = session();
    const url = parseRegistryUrl(join(roots[0]!, "registry"));
    expect(s.registry(url)).toBe(s.registry(url));
    const other = s.storesFor("ctx-a", {});
    expect(s.storesFor("ctx-a", {})).toBe(other);
    expect(s.storesFor("ctx-b", {})).not.toBe(other);
    expect(s.registryThrough(url, other)).not.toBe(s.registryThrough(url, other));
    expect(s.registryThrough(url, other).store).toBe(other.local());
  });

  it("counts the requests of every store it made", async () => {
    const s = session();
    const dir = join(roots[0]!, "registry");
    const url = parseRegistryUrl(dir);
    await s
      .registry(url)
      .listPackages()
      .catch(() => undefined);
    await s
      .registryThrough(url, s.storesFor("ctx-a", {}))
      .listPackages()
      .catch(() => undefined);
    const own = s.stores.counts().local;
    const other = s.storesFor("ctx-a", {}).counts().local;
    const total = s.requestCounts().local;
    for (const k of Object.keys(total) as (keyof typeof total)[]) expect(total[k]).toBe(own[k] + other[k]);
    expect(Object.values(total).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });

  it("refuses a bad S3 timeout when it is built, not at its first request", () => {
    expect(() => new Session({ env: { QUILT_S3_CONNECT_TIMEOUT: "abc" } })).toThrow(
      /QUILT_S3_CONNECT_TIMEOUT/,
    );
  });
});
