// USECASES.md "Improve dataset" on the moto server: training found wrong labels, so a new
// master corrects one entry's metadata with setMeta. The top hash changes, the corrected
// metadata is what a fresh browse (and the real quilt3) sees, and the data is untouched:
// same physical keys and hashes, no object written.
import { afterAll, describe, expect, it } from "vitest";
import { Package, PackageBuilder } from "../../src/index.js";
import { pseudoRandomBytes } from "../helpers/package-fixtures.js";
import { uniquePrefix } from "../helpers/s3.js";
import {
  cleanupAll,
  newContext,
  objectVersions,
  parseDisplay,
  quilt3Read,
  sha256Hex,
  tempRoot,
  usecaseEnv,
  writeTree,
} from "../helpers/usecase-support.js";

const env = usecaseEnv();
afterAll(cleanupAll);

describe("use case: Improve dataset", () => {
  it("setMeta on an entry makes a new top hash; the metadata shows after browse; the data is unchanged", async () => {
    const salt = uniquePrefix("ucimp");
    const name = `${salt}/dataset`;
    const ctx = newContext(env.endpoint);
    const files = Object.fromEntries(
      [1, 2, 3].map((i) => [`labelled/${i}.jpg`, pseudoRandomBytes(1500 * i, `${salt}-${i}`)]),
    );
    const src = writeTree(tempRoot("improve"), files);
    const b = new PackageBuilder(name, { registry: env.registry, session: ctx });
    await b.add(`${src}/labelled`);
    for (const k of Object.keys(files)) b.setMeta(k, { label: "dog", annotator: "service-a" });
    await b.pushDataAndManifest({ prefix: `${salt}/data/dataset/`, tag: "master" });

    const pkg = await Package.browse(`${name}:master`, {
      registry: env.registry,
      session: newContext(env.endpoint),
    });
    expect(parseDisplay(pkg.toString())).toMatchObject({
      kind: "Package",
      fields: { name: `${name}:master`, tophash: pkg.hash },
      contents: [["labelled/", `${env.registry}/${salt}/data/dataset/labelled/...`]],
    });
    const dataBefore = await objectVersions(env, `${salt}/`);

    const lines: string[] = [];
    const pkgBuilder = pkg.asPackageBuilder({ output: (l) => lines.push(l) });
    const corrected = { label: "cat", annotator: "review", previous: "dog" };
    pkgBuilder.setMeta("labelled/1.jpg", corrected);
    pkgBuilder.setMeta("labelled/2.jpg", {}); // the use case's literal call: meta={}
    const fixed = await pkgBuilder.pushManifest({ tag: "master" });
    expect(fixed.hash).not.toBe(pkg.hash);
    expect(lines).toEqual([
      "Building manifest...",
      `Tophash: ${fixed.hash}`,
      `Pushing manifest to ${env.registry}/.quilt/packages/${fixed.hash}`,
      `Linking ${name}:master to manifest ${fixed.hash.slice(0, 9)}`,
    ]);

    const master = await Package.browse(`${name}:master`, {
      registry: env.registry,
      session: newContext(env.endpoint),
    });
    expect(master.hash).toBe(fixed.hash);
    expect(master.getMetadata("labelled/1.jpg")).toEqual(corrected);
    expect(master.getEntry("labelled/1.jpg").metadata).toEqual(corrected);
    expect(master.getMetadata("labelled/2.jpg")).toEqual({});
    expect(master.getMetadata("labelled/3.jpg")).toEqual({ label: "dog", annotator: "service-a" });
    expect(pkg.diff(master)).toEqual({
      added: [],
      removed: [],
      modified: [],
      metadataChanged: ["labelled/1.jpg", "labelled/2.jpg"],
    });

    // Data unchanged: same objects, same hashes, nothing written to the bucket.
    for (const e of master) {
      const was = pkg.getEntry(e.logicalKey);
      expect(e.physicalKey).toBe(was.physicalKey);
      expect(e.hash).toEqual(was.hash);
      expect(e.size).toBe(was.size);
      expect(sha256Hex(await e.getBytes())).toBe(sha256Hex(files[e.logicalKey] as Buffer));
    }
    expect(Object.fromEntries(await objectVersions(env, `${salt}/`))).toEqual(Object.fromEntries(dataBefore));

    // The old labels stay in the previous version.
    const before = await Package.browse(name, {
      registry: env.registry,
      hash: pkg.hash,
      session: newContext(env.endpoint),
    });
    expect(before.getMetadata("labelled/1.jpg")).toEqual({ label: "dog", annotator: "service-a" });

    // The real quilt3 sees the corrected metadata under the same top hash.
    const [seen] = await quilt3Read(env, [{ name }]);
    expect(seen?.top_hash).toBe(fixed.hash);
    expect(seen?.entries["labelled/1.jpg"]?.meta).toEqual(corrected);
    expect(seen?.entries["labelled/2.jpg"]?.meta).toEqual({});
    expect(seen?.entries["labelled/3.jpg"]?.meta).toEqual({ label: "dog", annotator: "service-a" });
  });
});
