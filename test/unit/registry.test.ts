// The registry on the in-memory store: name, tag, timestamp and hash-prefix resolution,
// listing, push order and pointer format, the manifest cache (fetched once per registry,
// package and top hash, re-verified on every load) and refusals that change nothing.
import { mkdtempSync, readFileSync, writeFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../src/storage/memory-store.js";
import { Registry } from "../../src/storage/registry.js";
import { ManifestCache, registryCacheId } from "../../src/storage/manifest-cache.js";
import { Manifest, type ManifestEntry } from "../../src/manifest/manifest.js";
import { PhysicalKey } from "../../src/manifest/physical-key.js";
import { serializeManifest } from "../../src/manifest/manifest-writer.js";
import { fromPlain, type JsonObject } from "../../src/manifest/json-value.js";
import { parseRegistryUrl } from "../../src/manifest/registry-url.js";
import type { LogicalKey, TopHash } from "../../src/types.js";
import { isQuiltError } from "../../src/errors.js";

const BUCKET = "reg";
const REGISTRY = `s3://${BUCKET}`;

function manifest(message: string, keys: string[] = ["a.txt", "dir/b.bin"]): Manifest {
  const entries: ManifestEntry[] = keys.map((k, i) => ({
    logicalKey: k as LogicalKey,
    physicalKey: PhysicalKey.s3("data", k, `v${i}`),
    size: i + 1,
    hash: fromPlain({ type: "sha2-256-chunked", value: `h${i}` }) as JsonObject,
    meta: new Map(),
  }));
  return Manifest.create({ header: fromPlain({ version: "v0", message }) as JsonObject, entries });
}

function setup(cacheDir: string | null = null) {
  const store = new MemoryStore();
  const registry = new Registry(parseRegistryUrl(REGISTRY), store, new ManifestCache(cacheDir, REGISTRY));
  return { store, registry };
}

async function refusal(p: Promise<unknown>): Promise<Error & { code?: string; hint?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a refusal");
}

describe("push writes quilt3's layout in quilt3's order", () => {
  it("manifest, then timestamp pointer, then latest, then the tag; pointers without a newline", async () => {
    const { store, registry } = setup();
    const order: string[] = [];
    store.failWhen((req) => {
      if (req.op === "put") order.push(req.key);
      return undefined;
    });
    const m = manifest("first");
    const res = await registry.pushManifest("ns/pkg", m, { tag: "v0", now: new Date(1_700_000_000_000) });
    expect(res.topHash).toBe(m.topHash);
    expect(order).toEqual([
      `.quilt/packages/${m.topHash}`,
      ".quilt/named_packages/ns/pkg/1700000000",
      ".quilt/named_packages/ns/pkg/latest",
      ".quilt/named_packages/ns/pkg/v0",
    ]);
    const pointer = await store.get({ bucket: BUCKET, key: ".quilt/named_packages/ns/pkg/v0" });
    expect(pointer.toString("latin1")).toBe(m.topHash);
    expect(
      (await store.get({ bucket: BUCKET, key: `.quilt/packages/${m.topHash}` })).equals(serializeManifest(m)),
    ).toBe(true);
  });
});

describe("resolution", () => {
  it("latest, named tags, timestamps and unique hash prefixes", async () => {
    const { registry } = setup();
    const a = manifest("a");
    const b = manifest("b");
    await registry.pushManifest("ns/pkg", a, { tag: "v0", now: new Date(1_000_000_000_000) });
    await registry.pushManifest("ns/pkg", b, { tag: "v1", now: new Date(1_000_000_100_000) });
    expect((await registry.resolve("ns/pkg")).topHash).toBe(b.topHash);
    expect((await registry.resolve("ns/pkg", { tag: "v0" })).topHash).toBe(a.topHash);
    expect((await registry.resolve("ns/pkg", { tag: "1000000000" })).topHash).toBe(a.topHash);
    expect((await registry.resolve("ns/pkg", { hash: a.topHash.slice(0, 8) })).topHash).toBe(a.topHash);
    expect((await registry.resolve("ns/pkg", { hash: b.topHash })).topHash).toBe(b.topHash);
    expect((await registry.resolve("ns/pkg", { tag: "v1", hash: b.topHash.slice(0, 7) })).topHash).toBe(
      b.topHash,
    );
    const loaded = await registry.loadManifest(await registry.resolve("ns/pkg", { tag: "v0" }));
    expect(loaded.message).toBe("a");
  });

  it("lists packages and versions with their tags, newest first", async () => {
    const { registry } = setup();
    const a = manifest("a");
    const b = manifest("b");
    await registry.pushManifest("ns/pkg", a, { tag: "v0", now: new Date(1_000_000_000_000) });
    await registry.pushManifest("ns/pkg", b, { now: new Date(1_000_000_100_000) });
    await registry.pushManifest("other/thing", a, {});
    expect(await registry.listPackages()).toEqual(["ns/pkg", "other/thing"]);
    const versions = await registry.listVersions("ns/pkg");
    expect(versions.map((v) => v.topHash)).toEqual([b.topHash, a.topHash]);
    expect(versions[0]?.pointers.sort()).toEqual(["1000000100", "latest"]);
    expect(versions[1]?.tags).toEqual(["v0"]);
    expect(versions[1]?.time?.getTime()).toBe(1_000_000_000_000);
  });

  it("an unknown tag, an unknown package and an ambiguous prefix are refused clearly", async () => {
    const { registry, store } = setup();
    await registry.pushManifest("ns/pkg", manifest("a"), { tag: "v0" });
    const unknownTag = await refusal(registry.resolve("ns/pkg", { tag: "v9" }));
    expect(unknownTag.code).toBe("ENOTFOUND");
    expect(unknownTag.message).toMatch(/Unknown tag "v9" for package ns\/pkg/);
    expect(unknownTag.hint).toMatch(/known tags: .*v0/);
    const unknownPkg = await refusal(registry.resolve("ns/nothing"));
    expect(unknownPkg.message).toMatch(/No package ns\/nothing in registry s3:\/\/reg/);

    // Make two manifests whose hashes share a prefix by planting them directly.
    const fake1 = "abcdef" + "0".repeat(58);
    const fake2 = "abcdef" + "1".repeat(58);
    for (const h of [fake1, fake2]) await store.put({ bucket: BUCKET, key: `.quilt/packages/${h}` }, "x");
    const ambiguous = await refusal(registry.resolve("ns/pkg", { hash: "abcdef" }));
    expect(ambiguous.code).toBe("EAMBIGUOUS");
    expect(ambiguous.message).toContain(fake1);
    expect(ambiguous.message).toContain(fake2);
    expect((await refusal(registry.resolve("ns/pkg", { hash: "abc" }))).code).toBe("EBADSPEC");
    expect((await refusal(registry.resolve("ns/pkg", { hash: "ffffff" }))).code).toBe("ENOTFOUND");
  });

  it("reads the v2 layout", async () => {
    const { registry, store } = setup();
    const m = manifest("v2 package");
    await store.put(
      { bucket: BUCKET, key: `.quilt/v2/manifests/ns@two/${m.topHash}/manifest.jsonl` },
      serializeManifest(m),
    );
    await store.put({ bucket: BUCKET, key: ".quilt/v2/tags/ns@two/latest" }, m.topHash);
    const r = await registry.resolve("ns/two");
    expect(r).toMatchObject({ topHash: m.topHash, layout: "v2" });
    expect((await registry.loadManifest(r)).message).toBe("v2 package");
    expect((await registry.resolve("ns/two", { hash: m.topHash.slice(0, 10) })).topHash).toBe(m.topHash);
    expect(await registry.listPackages()).toContain("ns/two");
  });
});

describe("manifest cache and integrity", () => {
  it("fetches a manifest once per top hash, from disk after a restart, filed under its registry and name", async () => {
    const dir = mkdtempSync(join(tmpdir(), "quilt-mcache-"));
    const { registry, store } = setup(dir);
    const m = manifest("cached");
    await registry.pushManifest("ns/pkg", m);
    const fresh = new Registry(registry.url, store, new ManifestCache(dir, REGISTRY));
    store.resetCounts();
    const r = await fresh.resolve("ns/pkg");
    await fresh.loadManifest(r);
    await fresh.loadManifest(r);
    expect(store.counts.get).toBe(1); // the pointer only: the manifest came from the disk cache
    const id = registryCacheId(REGISTRY);
    expect(readdirSync(dir)).toEqual([id]);
    expect(readdirSync(join(dir, id, "ns", "pkg")).sort()).toEqual([m.topHash, `${m.topHash}.sha256`]);
  });

  it("refuses a manifest whose content does not match its name, and a corrupt cache file is fetched again", async () => {
    const dir = mkdtempSync(join(tmpdir(), "quilt-mcache-"));
    const { registry, store } = setup(dir);
    const m = manifest("real");
    const other = manifest("tampered");
    await registry.pushManifest("ns/pkg", m);
    // Tamper with the registry copy; a reader with an empty cache must refuse it.
    await store.put({ bucket: BUCKET, key: `.quilt/packages/${m.topHash}` }, serializeManifest(other));
    const reader = new Registry(
      registry.url,
      store,
      new ManifestCache(mkdtempSync(join(tmpdir(), "quilt-mcache-")), REGISTRY),
    );
    const err = await refusal(reader.loadManifest({ name: "ns/pkg", topHash: m.topHash, layout: "v1" }));
    expect(err.code).toBe("EHASHMISMATCH");
    expect(err.message).toContain(m.topHash);
    expect(isQuiltError(err)).toBe(true);

    // A corrupt file in the local cache is not trusted: it is dropped and refetched.
    await store.put({ bucket: BUCKET, key: `.quilt/packages/${m.topHash}` }, serializeManifest(m));
    const cached = join(dir, registryCacheId(REGISTRY), "ns", "pkg", m.topHash);
    writeFileSync(cached, serializeManifest(other));
    const again = new Registry(registry.url, store, new ManifestCache(dir, REGISTRY));
    const loaded = await again.loadManifest({ name: "ns/pkg", topHash: m.topHash as TopHash, layout: "v1" });
    expect(loaded.message).toBe("real");
    expect(readFileSync(cached).equals(serializeManifest(m))).toBe(true);
  });

  it("a failed push changes nothing: no pointer names a manifest that was not written", async () => {
    const { registry, store } = setup();
    store.failNext("put", "AccessDenied");
    await expect(registry.pushManifest("ns/pkg", manifest("x"), { tag: "v0" })).rejects.toThrow();
    expect(await registry.listPointers("ns/pkg")).toEqual([]);
  });

  it("refuses invalid tags before writing anything", async () => {
    const { registry, store } = setup();
    for (const tag of ["has/slash", "123", "", "a b"]) {
      expect((await refusal(registry.pushManifest("ns/pkg", manifest("x"), { tag }))).code).toBe("EUSAGE");
    }
    expect(store.counts.put).toBe(0);
  });
});
