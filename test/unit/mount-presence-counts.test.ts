// `quilt mounts` counts a mount's cached bytes and whole files over every entry; on a
// million-entry mount that walk is what monitoring pays, so it is made again only when a
// block was cached or dropped since: the counts stay right, and an idle mount is not walked.
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BlockCache } from "../../src/cache/block-cache.js";
import { IndexedVersion } from "../../src/daemon/indexed-version.js";
import { PackageMount } from "../../src/daemon/package-mount.js";
import { CompactEntry, EMPTY_META } from "../../src/manifest/compact-entry.js";
import { Manifest } from "../../src/manifest/manifest.js";
import { ManifestIndex } from "../../src/storage/manifest-index.js";
import { Stores } from "../../src/storage/stores.js";
import type { LogicalKey } from "../../src/types.js";
import { KiB, remoteObject, tempDir } from "./cache-fixtures.js";

const BS = 4 * KiB;
let dir: { path: string; cleanup: () => Promise<void> };
let index: ManifestIndex;
let cache: BlockCache;
let stores: Stores;

beforeEach(async () => {
  dir = await tempDir("presence");
  index = ManifestIndex.open(join(dir.path, "manifests"));
  cache = await BlockCache.open({
    dataDir: join(dir.path, "data"),
    indexDir: join(dir.path, "index"),
    maxBytes: 1024 * BS,
    blockSize: BS,
    wholeObjectBytes: 0,
  });
  stores = new Stores();
});

afterEach(async () => {
  await cache.close();
  await index.close();
  await stores.close();
  await dir.cleanup();
});

describe("PackageMount.info counts", () => {
  it("walks the entries again only after a block was cached or dropped, and the counts follow", async () => {
    const objects = await Promise.all([3 * BS, 2 * BS + 7].map((n) => remoteObject(n, "SHA256")));
    const entries = objects.map(
      ({ obj }, i) =>
        new CompactEntry(
          `f${i}.bin` as LogicalKey,
          `s3://b/f${i}`,
          obj.size,
          obj.hash.type,
          obj.hash.value,
          EMPTY_META,
        ),
    );
    const m = Manifest.create({ header: new Map(), entries });
    const id = { registry: "s3://b", name: "ns/pkg", topHash: m.topHash };
    const version = new IndexedVersion(index, id, index.build(id, m));
    const mount = new PackageMount(
      { mountpoint: "/nowhere", registry: "s3://b", name: "ns/pkg", topHash: m.topHash, mountedAt: "" },
      version,
      cache,
      stores,
    );
    expect(mount.info()).toMatchObject({ cachedBytes: 0, verifiedFiles: 0 });

    const [a, b] = objects as [(typeof objects)[0], (typeof objects)[0]];
    await cache.read(a.obj, 0, a.obj.size, a.remote.fetch);
    await cache.idle();
    expect(mount.info()).toMatchObject({ cachedBytes: a.obj.size, verifiedFiles: 1 });
    expect(mount.presence.walks).toBe(1);
    expect(mount.info()).toMatchObject({ cachedBytes: a.obj.size, verifiedFiles: 1 });
    expect(mount.presence.walks).toBe(1); // nothing changed: not walked again

    await cache.read(b.obj, 0, b.obj.size, b.remote.fetch);
    await cache.idle();
    expect(mount.info()).toMatchObject({ cachedBytes: a.obj.size + b.obj.size, verifiedFiles: 2 });
    expect(mount.presence.walks).toBe(2);

    await cache.evictObject(a.obj);
    expect(mount.info()).toMatchObject({ cachedBytes: b.obj.size, verifiedFiles: 1 });
    expect(mount.presence.walks).toBe(3);
  });
});
