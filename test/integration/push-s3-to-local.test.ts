// Pushing a package whose entries live in S3 into a local-directory registry copies the
// objects' bytes there: small ones through memory, large ones through a spool file next to
// the destination (nothing left behind), each landing exactly.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PackageBuilder, Session } from "../../src/index.js";
import { S3Store } from "../../src/storage/s3-store.js";
import { pseudoRandomBytes } from "../helpers/package-fixtures.js";
import { uniquePrefix } from "../helpers/s3.js";
import { cleanupAll, tempRoot, usecaseEnv } from "../helpers/usecase-support.js";

const env = usecaseEnv();
afterAll(cleanupAll);
const MiB = 1024 * 1024;

describe("push from S3 into a local registry", () => {
  it("copies a small and a large object into the registry directory", async () => {
    const prefix = uniquePrefix("s3-to-local");
    const small = pseudoRandomBytes(3000, "small");
    const large = pseudoRandomBytes(9 * MiB + 1, "large");
    const s3 = new S3Store({ endpoint: env.endpoint, forcePathStyle: true });
    await s3.put({ bucket: env.bucket, key: `${prefix}/small.bin` }, small);
    await s3.put({ bucket: env.bucket, key: `${prefix}/large.bin` }, large);
    await s3.close();

    const root = tempRoot("s3-to-local");
    const registry = join(root, "registry");
    const ctx = new Session({
      cacheDir: join(root, "cache"),
      env: { HOME: root },
      s3: { endpoint: env.endpoint, forcePathStyle: true },
    });
    const b = new PackageBuilder("ns/mixed", { registry, session: ctx, output: () => {} });
    await b.add(`s3://${env.bucket}/${prefix}/`, "data/");
    const pushed = await b.pushData({ prefix: "objects" });
    expect(pushed.map((p) => [p.entry.logicalKey, p.outcome])).toEqual([
      ["data/large.bin", "copied"],
      ["data/small.bin", "copied"],
    ]);
    expect(readFileSync(join(registry, "objects", "data", "large.bin")).equals(large)).toBe(true);
    expect(readFileSync(join(registry, "objects", "data", "small.bin")).equals(small)).toBe(true);
    expect(readdirSync(join(registry, "objects", "data")).sort()).toEqual(["large.bin", "small.bin"]); // no spool left
    const pkg = await b.pushManifest({ tag: "v1" });
    expect((await pkg.getEntry("data/large.bin").getBytes()).equals(large)).toBe(true);
    expect(existsSync(join(registry, ".quilt"))).toBe(true);
    await ctx.close();
  });
});
