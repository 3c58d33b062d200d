// The manifest cache's own rules: one cache per registry (S3 endpoint included), files
// filed by package name and top hash, the file's SHA-256 checked on load besides the top
// hash (which does not cover physical keys), and old top-hash-only files never read.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fromPlain, type JsonObject } from "../../src/manifest/json-value.js";
import { Manifest, type ManifestEntry } from "../../src/manifest/manifest.js";
import { serializeManifest } from "../../src/manifest/manifest-writer.js";
import { PhysicalKey } from "../../src/manifest/physical-key.js";
import { parseRegistryUrl } from "../../src/manifest/registry-url.js";
import { ManifestCache, registryCacheId } from "../../src/storage/manifest-cache.js";
import { Stores } from "../../src/storage/stores.js";
import type { LogicalKey } from "../../src/types.js";

const REGISTRY = "s3://reg endpoint=aws";

function manifest(bucket: string, message = "m"): Manifest {
  const entries: ManifestEntry[] = ["a.txt", "dir/b.bin"].map((k, i) => ({
    logicalKey: k as LogicalKey,
    physicalKey: PhysicalKey.s3(bucket, k, `v${i}`),
    size: i + 1,
    hash: fromPlain({ type: "sha2-256-chunked", value: `h${i}` }) as JsonObject,
    meta: new Map(),
  }));
  return Manifest.create({ header: fromPlain({ version: "v0", message }) as JsonObject, entries });
}

const dirs: string[] = [];
function tempRoot(): string {
  const d = mkdtempSync(join(tmpdir(), "quilt-mcache-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  vi.unstubAllEnvs();
});

describe("ManifestCache", () => {
  it("files a manifest under its registry, namespace, name and top hash, with the file's SHA-256 beside it", async () => {
    const root = tempRoot();
    const m = manifest("real");
    const bytes = serializeManifest(m);
    await new ManifestCache(root, REGISTRY).put("ns/pkg", m.topHash, bytes, "test");
    const path = join(root, registryCacheId(REGISTRY), "ns", "pkg", m.topHash);
    expect(readFileSync(path).equals(bytes)).toBe(true);
    expect(readFileSync(`${path}.sha256`, "latin1")).toMatch(/^[0-9a-f]{64}$/);
    const loaded = await new ManifestCache(root, REGISTRY).get("ns/pkg", m.topHash);
    expect(loaded?.entries[0]?.physicalKey.bucket).toBe("real");
  });

  it("another registry, or another package name, does not see the manifest", async () => {
    const root = tempRoot();
    const m = manifest("real");
    const cache = new ManifestCache(root, REGISTRY);
    await cache.put("ns/pkg", m.topHash, serializeManifest(m), "test");
    expect(await cache.get("ns/other", m.topHash)).toBeUndefined();
    expect(
      await new ManifestCache(root, "s3://reg endpoint=http://127.0.0.1:9000").get("ns/pkg", m.topHash),
    ).toBeUndefined();
    expect(await new ManifestCache(root, "file:///reg").get("ns/pkg", m.topHash)).toBeUndefined();
  });

  it("a cached file whose physical keys changed (same top hash) is refused, deleted and not used", async () => {
    const root = tempRoot();
    const m = manifest("real");
    const swapped = manifest("impostor");
    expect(swapped.topHash).toBe(m.topHash); // physical keys are not hashed
    await new ManifestCache(root, REGISTRY).put("ns/pkg", m.topHash, serializeManifest(m), "test");
    const path = join(root, registryCacheId(REGISTRY), "ns", "pkg", m.topHash);
    writeFileSync(path, serializeManifest(swapped));
    expect(await new ManifestCache(root, REGISTRY).get("ns/pkg", m.topHash)).toBeUndefined();
    expect(existsSync(path)).toBe(false);
    expect(existsSync(`${path}.sha256`)).toBe(false);
  });

  it("a manifest without its SHA-256 file, and an old top-hash-only file, are not used", async () => {
    const root = tempRoot();
    const m = manifest("real");
    writeFileSync(join(root, m.topHash), serializeManifest(m)); // the old layout
    const cache = new ManifestCache(root, REGISTRY);
    expect(await cache.get("ns/pkg", m.topHash)).toBeUndefined();
    await cache.put("ns/pkg", m.topHash, serializeManifest(m), "test");
    const path = join(root, registryCacheId(REGISTRY), "ns", "pkg", m.topHash);
    rmSync(`${path}.sha256`);
    expect(await new ManifestCache(root, REGISTRY).get("ns/pkg", m.topHash)).toBeUndefined();
  });

  it("names that are not package names never become paths", async () => {
    const cache = new ManifestCache(tempRoot(), REGISTRY);
    const m = manifest("real");
    for (const name of ["../x", "ns/../../x", "ns", "a/b/c"]) {
      await expect(cache.get(name, m.topHash)).rejects.toMatchObject({ code: "EBADSPEC" });
      await expect(cache.put(name, m.topHash, serializeManifest(m), "test")).rejects.toMatchObject({
        code: "EBADSPEC",
      });
    }
    await expect(cache.get("ns/pkg", "../../etc" as never)).rejects.toMatchObject({ code: "EBADSPEC" });
  });
});

describe("registry identity", () => {
  it("an S3 registry is its bucket and endpoint; a local one its directory", () => {
    vi.stubEnv("AWS_ENDPOINT_URL_S3", undefined);
    vi.stubEnv("AWS_ENDPOINT_URL", undefined);
    const s3 = parseRegistryUrl("s3://data");
    const onAws = new Stores().registryIdentity(s3);
    const onMoto = new Stores({ endpoint: "http://127.0.0.1:5000" }).registryIdentity(s3);
    expect(onAws).toBe("s3://data endpoint=aws");
    expect(onMoto).toBe("s3://data endpoint=http://127.0.0.1:5000");
    expect(new Stores({ endpoint: "http://127.0.0.1:5000/" }).registryIdentity(s3)).toBe(onMoto);
    expect(new Stores({ endpoint: "http://127.0.0.1:5001" }).registryIdentity(s3)).not.toBe(onMoto);
    expect(new Stores().registryIdentity(parseRegistryUrl("s3://other"))).not.toBe(onAws);
    vi.stubEnv("AWS_ENDPOINT_URL", "http://localhost:9000");
    expect(new Stores().registryIdentity(s3)).toBe("s3://data endpoint=http://localhost:9000");
    expect(new Stores().registryIdentity(parseRegistryUrl("/tmp/reg/"))).toBe("file:///tmp/reg");
  });
});
