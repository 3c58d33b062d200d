// USECASES.md "Other usecases": a new dataset sampled from another one, without
// downloading the larger dataset. pkg.sample(n) and pkg.filter(fn) make builders whose
// entries reference the same physical objects; pushing their manifests copies and fetches
// no data (a counting proxy in front of moto sees only manifest and pointer writes), and
// the real quilt3 reads the sample's bytes from the original objects.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Package, PackageBuilder } from "../../src/index.js";
import { pseudoRandomBytes } from "../helpers/package-fixtures.js";
import { uniquePrefix } from "../helpers/s3.js";
import {
  cleanupAll,
  newContext,
  objectVersions,
  quilt3Read,
  sha256Hex,
  startCountingProxy,
  tempRoot,
  usecaseEnv,
  writeTree,
} from "../helpers/usecase-support.js";

const env = usecaseEnv();
afterAll(cleanupAll);

const salt = uniquePrefix("ucsample");
const name = `${salt}/openimages`;
const dataPrefix = `${salt}-data/`;
const files: Record<string, string | Buffer> = {
  "labels.csv":
    "image,label\n" + Array.from({ length: 12 }, (_, i) => `${i}.jpg,${i % 2 ? "cat" : "dog"}\n`).join(""),
  ...Object.fromEntries(
    Array.from({ length: 12 }, (_, i) => [
      `images/${String(i).padStart(2, "0")}.jpg`,
      pseudoRandomBytes(3000 + 100 * i, `${salt}-${i}`),
    ]),
  ),
};

beforeAll(async () => {
  const src = writeTree(tempRoot("sample"), files);
  const b = new PackageBuilder(name, { registry: env.registry, session: newContext(env.endpoint) });
  await b.add(src, "");
  for (let i = 0; i < 12; i++)
    b.setMeta(`images/${String(i).padStart(2, "0")}.jpg`, { label: i % 2 ? "cat" : "dog" });
  await b.pushDataAndManifest({ prefix: dataPrefix, tag: "full" });
});

describe("use case: a sampled subset of a package", () => {
  it("sample(n) and filter(fn) push manifests over the same objects, with no data copied or fetched", async () => {
    const proxy = await startCountingProxy(env.endpoint);
    const ctx = newContext(proxy.endpoint);
    const full = await Package.browse(`${name}:full`, { registry: env.registry, session: ctx });
    const dataBefore = await objectVersions(env, dataPrefix);
    expect(dataBefore.size).toBe(13);
    proxy.reset();

    const sample = full.sample(5, 7);
    expect(sample.size).toBe(5);
    expect(full.sample(5, 7).keys()).toEqual(sample.keys()); // seeded: the same sample again
    expect(sample.keys().every((k) => full.has(k))).toBe(true);
    const samplePkg = await sample.pushManifest({ tag: "sample" });

    const cats = full.filter(
      (e) => e.logicalKey === "labels.csv" || (e.metadata as { label?: string }).label === "cat",
    );
    expect(cats.keys()).toEqual([
      "images/01.jpg",
      "images/03.jpg",
      "images/05.jpg",
      "images/07.jpg",
      "images/09.jpg",
      "images/11.jpg",
      "labels.csv",
    ]);
    const catsPkg = await cats.pushManifest({ tag: "cats" });

    // Same physical objects, hashes and metadata as the full package.
    for (const sub of [samplePkg, catsPkg]) {
      for (const e of sub) {
        const orig = full.getEntry(e.logicalKey);
        expect(e.physicalKey).toBe(orig.physicalKey);
        expect(e.hash).toEqual(orig.hash);
        expect(e.metadata).toEqual(orig.metadata);
      }
    }
    // No data read, written or copied: only the manifests and their pointers went to S3.
    expect(proxy.gets(dataPrefix)).toEqual([]);
    const writes = proxy.requests.filter((r) => r.method !== "GET" && r.method !== "HEAD");
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.filter((r) => !r.key.startsWith(".quilt/"))).toEqual([]);
    expect(proxy.requests.filter((r) => r.key.startsWith(dataPrefix))).toEqual([]);
    expect(Object.fromEntries(await objectVersions(env, dataPrefix))).toEqual(Object.fromEntries(dataBefore));

    // Browsed fresh, the sample is what was pushed, and quilt3 reads its bytes from the original objects.
    const browsed = await Package.browse(`${name}:sample`, {
      registry: env.registry,
      session: newContext(env.endpoint),
    });
    expect(browsed.hash).toBe(samplePkg.hash);
    expect([...browsed].map((e) => e.logicalKey as string).sort()).toEqual(sample.keys());
    const [seen] = await quilt3Read(env, [{ name, hash: samplePkg.hash }]);
    expect(seen?.top_hash).toBe(samplePkg.hash);
    expect(Object.keys(seen?.entries ?? {}).sort()).toEqual(sample.keys());
    for (const k of sample.keys()) {
      expect(seen?.entries[k]?.physical_key).toBe(full.getEntry(k).physicalKey);
      expect(seen?.entries[k]?.sha256).toBe(sha256Hex(files[k] as Buffer));
    }
  });
});
