// Adding an S3 prefix lists it with each object's current version (ListObjectVersions over
// several pages), without a HEAD per object: a million-object prefix costs a thousand
// requests, as in quilt3's set_dir. Old versions and deleted keys are left out, every entry
// is pinned to its current version, and the entries are those quilt3 builds from the same
// prefix (same keys, pinned physical keys, sizes and hashes).
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Package, PackageBuilder, Session } from "../../src/index.js";
import { S3Store } from "../../src/storage/s3-store.js";
import { runQuilt3 } from "../helpers/quilt3.js";
import { uniquePrefix } from "../helpers/s3.js";
import { cleanupAll, tempRoot, usecaseEnv } from "../helpers/usecase-support.js";

const env = usecaseEnv();
afterAll(cleanupAll);

/** Objects in the prefix: 250 over pages of 100, so the version listing pages. */
const OBJECTS = 250;
const PAGE = 100;

describe("add an S3 prefix", () => {
  it("pins every object to its current version from the listing alone, and has the entries quilt3 builds", async () => {
    const prefix = uniquePrefix("prefix-versions");
    const s3 = new S3Store({ endpoint: env.endpoint, forcePathStyle: true });
    const key = (i: number) => `${prefix}/d${i % 3}/f${String(i).padStart(4, "0")}.bin`;
    try {
      // Mostly empty objects (nothing to read to hash them), some with content.
      for (let i = 0; i < OBJECTS; i++)
        await s3.put(
          { bucket: env.bucket, key: key(i) },
          i % 50 === 0 ? Buffer.from(`first ${i}`) : Buffer.alloc(0),
        );
      // Newer versions of two objects, and a deleted one (its old version must not come back).
      await s3.put({ bucket: env.bucket, key: key(7) }, Buffer.from("second 7"));
      await s3.put({ bucket: env.bucket, key: key(100) }, Buffer.from("second 100"));
      await s3.delete({ bucket: env.bucket, key: key(8) });
      const current = new Map<string, string>();
      for (let i = 0; i < OBJECTS; i++) {
        if (i === 8) continue;
        const head = await s3.head({ bucket: env.bucket, key: key(i) });
        current.set(key(i), head.versionId as string);
      }

      const root = tempRoot("prefix-versions");
      const ctx = new Session({
        cacheDir: join(root, "cache"),
        s3: { endpoint: env.endpoint, forcePathStyle: true, listPageSize: PAGE },
      });
      try {
        const b = new PackageBuilder("ns/listed", { registry: env.registry, session: ctx });
        await b.add(`s3://${env.bucket}/${prefix}/`, "");
        const afterAdd = ctx.stores.counts().s3;
        expect(afterAdd.head).toBe(0);
        expect(afterAdd.list).toBe(1);
        expect(b.size).toBe(OBJECTS - 1);
        const snapshot = b.toState().entries;
        expect(snapshot.some((e) => e.source.path === key(8))).toBe(false);
        for (const e of snapshot) expect(e.source.versionId, e.source.path).toBe(current.get(e.source.path));

        const pkg = await b.pushManifest({ tag: "v1" });
        // Only the objects with content were read to hash them; the empty ones cost nothing.
        expect(ctx.stores.counts().s3.get - afterAdd.get).toBe(6);
        await runQuilt3(
          `
import quilt3
p = quilt3.Package().set_dir("/", ARGS["source"])
p.build("ns/quilt3-listed", registry=ARGS["registry"])
`,
          { source: `s3://${env.bucket}/${prefix}/`, registry: env.registry },
          { env: env.env },
        );
        // The same entries as quilt3's: keys, pinned physical keys, sizes and hashes.
        const theirs = await Package.browse("ns/quilt3-listed", { registry: env.registry, session: ctx });
        const entries = (p: Package) =>
          p.manifest.entries.map((e) => [
            e.logicalKey,
            e.physicalKey.toString(),
            e.size,
            e.hash.get("value"),
          ]);
        expect(entries(pkg)).toEqual(entries(theirs));
      } finally {
        await ctx.close();
      }
    } finally {
      await s3.close();
    }
  }, 180_000);
});
