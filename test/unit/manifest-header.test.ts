// The push message `quilt log` shows, read from a manifest's first line alone: one ranged
// read for a usual header, growing reads for a header with large package metadata (the whole
// manifest is never fetched), the v2 layout, and no message rather than an error when the
// header has none or cannot be read.
import { describe, expect, it } from "vitest";
import { fromPlain, type JsonObject } from "../../src/manifest/json-value.js";
import { Manifest, type ManifestEntry } from "../../src/manifest/manifest.js";
import { serializeManifest } from "../../src/manifest/manifest-writer.js";
import { PhysicalKey } from "../../src/manifest/physical-key.js";
import { parseRegistryUrl } from "../../src/manifest/registry-url.js";
import { readVersionMessage } from "../../src/storage/manifest-header.js";
import { MemoryStore } from "../../src/storage/memory-store.js";
import { Registry } from "../../src/storage/registry.js";
import type { LogicalKey, TopHash } from "../../src/types.js";

const BUCKET = "reg";
const NAME = "ns/pkg";

function manifest(header: Record<string, unknown>, entries = 1000): Manifest {
  const list: ManifestEntry[] = Array.from({ length: entries }, (_, i) => ({
    logicalKey: `dir/file-${String(i).padStart(6, "0")}.bin` as LogicalKey,
    physicalKey: PhysicalKey.s3("data", `k${i}`, `v${i}`),
    size: i,
    hash: fromPlain({ type: "sha2-256-chunked", value: `h${i}` }) as JsonObject,
    meta: new Map(),
  }));
  return Manifest.create({ header: fromPlain({ version: "v0", ...header }) as JsonObject, entries: list });
}

function setup() {
  const store = new MemoryStore();
  const registry = new Registry(parseRegistryUrl(`s3://${BUCKET}`), store);
  // The end of each read's range (undefined: a whole-object read).
  const ranges: (number | undefined)[] = [];
  const get = store.get.bind(store);
  store.get = (loc, opts) => {
    ranges.push(opts?.range?.end);
    return get(loc, opts);
  };
  return { store, registry, ranges };
}

describe("readVersionMessage", () => {
  it("reads the message from the first 64 KiB, not the whole manifest", async () => {
    const { registry, ranges } = setup();
    const m = manifest({ message: "relabelled the cats\nsecond line" }, 5000);
    await registry.pushManifest(NAME, m);
    ranges.length = 0;
    const r = { name: NAME, topHash: m.topHash, layout: "v1" as const };
    expect(await readVersionMessage(registry, r)).toBe("relabelled the cats\nsecond line");
    expect(ranges).toEqual([64 * 1024]);
    expect(serializeManifest(m).length).toBeGreaterThan(64 * 1024);
  });

  it("reads on in growing ranges past large package metadata; finds a v2 manifest", async () => {
    const { store, registry, ranges } = setup();
    const m = manifest({ message: "big header", user_meta: { blob: "x".repeat(300_000) } }, 10);
    const bytes = serializeManifest(m);
    await store.put({ bucket: BUCKET, key: `.quilt/v2/manifests/ns@pkg/${m.topHash}/manifest.jsonl` }, bytes);
    const r = { name: NAME, topHash: m.topHash, layout: "v1" as const };
    expect(await readVersionMessage(registry, r)).toBe("big header");
    // v1 first (missing), then v2 in ranges of 64 KiB, 256 KiB, 1 MiB.
    expect(ranges).toEqual([64 * 1024, 64 * 1024, 256 * 1024, 1024 * 1024]);
  });

  it("no message: none in the header, a header that is not JSON, a missing manifest", async () => {
    const { store, registry } = setup();
    const none = manifest({}, 3);
    await registry.pushManifest(NAME, none);
    const v1 = (topHash: string) => ({ name: NAME, topHash: topHash as TopHash, layout: "v1" as const });
    expect(await readVersionMessage(registry, v1(none.topHash))).toBeNull();
    const garbage = "f".repeat(64);
    await store.put({ bucket: BUCKET, key: `.quilt/packages/${garbage}` }, Buffer.from("not json\n{}\n"));
    expect(await readVersionMessage(registry, v1(garbage))).toBeNull();
    expect(await readVersionMessage(registry, v1("e".repeat(64)))).toBeNull();
  });
});
