// A killed writer's temporary manifest files are swept once old enough to belong to no live
// writer; fresh ones, cached manifests and their sidecars, and other files are left alone.
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { fromPlain, type JsonObject } from "../../src/manifest/json-value.js";
import { Manifest } from "../../src/manifest/manifest.js";
import { serializeManifest } from "../../src/manifest/manifest-writer.js";
import { ManifestCache } from "../../src/storage/manifest-cache.js";
import { removeStaleManifestTemps, STALE_TEMP_AGE_MS } from "../../src/storage/stale-manifest-temps.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function hidden(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.startsWith("."))
    .sort();
}

describe("removeStaleManifestTemps", () => {
  it("removes a dead writer's temporary files older than a day, and nothing else", async () => {
    const root = mkdtempSync(join(tmpdir(), "quilt-stale-temps-"));
    dirs.push(root);
    const cache = new ManifestCache(root, "s3://reg endpoint=aws");
    const m = Manifest.create({ header: fromPlain({ version: "v0" }) as JsonObject, entries: [] });
    await cache.put("ns/pkg", m.topHash, serializeManifest(m), "test");
    const path = cache.pathOf("ns/pkg", m.topHash) as string;
    const dir = dirname(path);
    // Two fetches interrupted as a kill would leave them (neither kept nor discarded).
    await cache.incoming("ns/pkg", m.topHash);
    const [dead] = hidden(dir);
    await cache.incoming("ns/pkg", m.topHash);
    const push = join(dir, ".0123456789ab.push.tmp");
    writeFileSync(push, "a push killed while its manifest was checked");
    const other = join(dir, ".keep-me");
    writeFileSync(other, "not a writer's temporary file");
    const old = (Date.now() - STALE_TEMP_AGE_MS - 60_000) / 1000;
    for (const p of [join(dir, dead as string), push, other, path]) utimesSync(p, old, old);

    expect(await removeStaleManifestTemps(root)).toBe(2);
    expect(existsSync(join(dir, dead as string))).toBe(false);
    expect(existsSync(push)).toBe(false);
    // The fresh temporary file may be a live writer's; the manifest and its sidecar are the cache.
    expect(hidden(dir)).toHaveLength(2);
    expect(hidden(dir)).toContain(".keep-me");
    expect(existsSync(path) && existsSync(`${path}.sha256`)).toBe(true);
    expect((await cache.get("ns/pkg", m.topHash))?.topHash).toBe(m.topHash);
    // A missing root is nothing to sweep, not an error.
    expect(await removeStaleManifestTemps(join(root, "absent"))).toBe(0);
  });
});
