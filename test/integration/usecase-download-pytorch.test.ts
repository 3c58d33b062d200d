// USECASES.md "Download" and its PyTorch example on the moto server: install a tagged
// package into a directory, verify it matches, read its top hash (the same one quilt3
// computes); then a dataset class that lists the train/ entries, reads the annotations
// file as JSON and serves each image's bytes with its per-entry metadata.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Package, PackageBuilder, type PackageEntry } from "../../src/index.js";
import { pseudoRandomBytes, readTree } from "../helpers/package-fixtures.js";
import { uniquePrefix } from "../helpers/s3.js";
import {
  cleanupAll,
  newContext,
  quilt3Read,
  sha256Hex,
  tempRoot,
  usecaseEnv,
  writeTree,
} from "../helpers/usecase-support.js";

const env = usecaseEnv();
afterAll(cleanupAll);

interface Annotation {
  image_id: number;
  category: string;
  bbox: number[];
}
interface Annotations {
  images: { path: string; image_id: number }[];
  annotations: Annotation[];
}

const salt = uniquePrefix("ucdl");
const name = `${salt}/dataset`;
const TAG = "tag";
const images = ["a.jpg", "b.jpg", "c.jpg"];
const annotations: Annotations = {
  images: images.map((path, i) => ({ path, image_id: i + 1 })),
  annotations: [
    { image_id: 1, category: "cat", bbox: [1, 2, 30, 40] },
    { image_id: 2, category: "dog", bbox: [5, 5, 10, 10] },
    { image_id: 1, category: "rat", bbox: [0.5, 7, 3, 4] },
    { image_id: 3, category: "cat", bbox: [9, 9, 9, 9] },
  ],
};
const files: Record<string, string | Buffer> = {
  "README.md": "# Dataset\n\nImages with annotations.\n",
  ...Object.fromEntries(
    images.map((img, i) => [`train/${img}`, pseudoRandomBytes(2000 + 3000 * i, `${salt}-${img}`)]),
  ),
  "val/x.jpg": pseudoRandomBytes(1500, `${salt}-val`),
  "annotations/train.json": JSON.stringify(annotations),
};
let src = "";
let topHash = "";

beforeAll(async () => {
  src = writeTree(tempRoot("dl-src"), files);
  const b = new PackageBuilder(name, { registry: env.registry, session: newContext(env.endpoint) });
  await b.add(src, "");
  // With Quilt Packages, each image entry carries its annotations as metadata.
  for (const img of annotations.images) {
    b.setMeta(`train/${img.path}`, {
      annotations: annotations.annotations.filter((a) => a.image_id === img.image_id),
    });
  }
  topHash = (await b.pushDataAndManifest({ prefix: `${salt}-data/`, tag: TAG })).hash;
});

describe("use case: Download", () => {
  it("installs bucket/dataset:tag to a directory, verifies it, and reports the top hash quilt3 computes", async () => {
    const pkg = await Package.browse(`${name}:${TAG}`, {
      registry: env.registry,
      session: newContext(env.endpoint),
    });
    const dir = join(tempRoot("dl-dest"), "dataset");
    const result = await pkg.download(dir);
    const keys = Object.keys(files).sort();
    expect([...result.fetched].sort()).toEqual(keys);
    expect(result.unchanged).toEqual([]);
    expect(result.bytesFetched).toBe(Object.values(files).reduce((n, b) => n + Buffer.byteLength(b), 0));
    const tree = readTree(dir);
    for (const k of [...tree.keys()]) if (k.startsWith(".quilt/")) tree.delete(k);
    expect([...tree.keys()].sort()).toEqual(keys);
    for (const k of keys)
      expect(sha256Hex(tree.get(k) as Buffer), `bytes of ${k}`).toBe(sha256Hex(files[k] as Buffer));

    const report = await pkg.verifyDirectoryMatchesManifest(dir);
    expect(report).toMatchObject({ ok: true, missing: [], extra: [], modified: [], lines: [] });
    expect((await pkg.verifyDirectoryMatchesManifest(dir, { deep: true })).ok).toBe(true);

    expect(pkg.hash).toBe(topHash);
    const [seen] = await quilt3Read(env, [{ name }]);
    expect(seen?.top_hash).toBe(pkg.hash);

    // A second install into the same directory fetches nothing.
    const again = await pkg.download(dir);
    expect(again.fetched).toEqual([]);
    expect(again.bytesFetched).toBe(0);
    // A file deleted locally no longer matches; download brings it back.
    rmSync(join(dir, "val", "x.jpg"));
    const broken = await pkg.verifyDirectoryMatchesManifest(dir);
    expect(broken).toMatchObject({ ok: false, missing: ["val/x.jpg"], extra: [], modified: [] });
    expect((await pkg.download(dir)).fetched).toEqual(["val/x.jpg"]);
    expect((await pkg.verifyDirectoryMatchesManifest(dir)).ok).toBe(true);
  });
});

/** The PyTorch example's dataset class, in TypeScript. */
class MyCustomDataset {
  private constructor(
    readonly pkg: Package,
    readonly imgEntries: PackageEntry[],
    readonly annotations: Annotations,
  ) {}

  static async open(
    quiltPackageName: string,
    opts: { tag?: string; hash?: string },
  ): Promise<MyCustomDataset> {
    const pkg = await Package.browse(quiltPackageName, {
      ...opts,
      registry: env.registry,
      session: newContext(env.endpoint),
    });
    const imgEntries = [...pkg].filter((entry) => entry.logicalKey.startsWith("train/"));
    const annotations = await pkg.getEntry("annotations/train.json").getJson<Annotations>();
    return new MyCustomDataset(pkg, imgEntries, annotations);
  }

  get length(): number {
    return this.imgEntries.length;
  }

  async getItem(idx: number): Promise<{ image: Buffer; annotations: unknown; fromFile: Annotation[] }> {
    const entry = this.imgEntries[idx] as PackageEntry;
    // In existing codebases, annotations are often stored in a single file
    const imgIds = this.annotations.images.filter(
      (img) => img.path === entry.logicalKey.slice("train/".length),
    );
    expect(imgIds).toHaveLength(1);
    const imageId = imgIds[0]?.image_id;
    const fromFile = this.annotations.annotations.filter((ann) => ann.image_id === imageId);
    // With Quilt Packages, each entry has metadata associated with it
    const meta = entry.metadata as { annotations: unknown };
    return { image: await entry.getBytes(), annotations: meta.annotations, fromFile };
  }
}

describe("use case: Download (PyTorch)", () => {
  it("iterates train/ entries, reads annotations/train.json, and serves bytes with per-entry metadata", async () => {
    const byTag = await MyCustomDataset.open(name, { tag: TAG });
    const byHash = await MyCustomDataset.open(name, { hash: topHash });
    expect(byTag.pkg.hash).toBe(topHash);
    expect(byHash.pkg.hash).toBe(topHash);
    expect(byTag.imgEntries.map((e) => e.logicalKey)).toEqual(images.map((i) => `train/${i}`));
    expect(byTag.pkg.entries("train/").map((e) => e.logicalKey)).toEqual(images.map((i) => `train/${i}`));
    expect(byTag.annotations).toEqual(annotations);
    expect(byTag.length).toBe(3);

    for (const ds of [byTag, byHash]) {
      for (let i = 0; i < ds.length; i++) {
        const item = await ds.getItem(i);
        const key = `train/${images[i]}`;
        expect(sha256Hex(item.image), `bytes of ${key}`).toBe(sha256Hex(files[key] as Buffer));
        expect(item.annotations).toEqual(item.fromFile);
        expect(item.fromFile.length).toBeGreaterThan(0);
        expect(ds.imgEntries[i]?.size).toBe((files[key] as Buffer).length);
      }
    }
    // Entries outside train/ carry no metadata.
    expect(byTag.pkg.getEntry("val/x.jpg").metadata).toEqual({});
  });

  it("iterates the package asynchronously (for await) over every entry", async () => {
    const pkg = await Package.browse(`${name}:${TAG}`, {
      registry: env.registry,
      session: newContext(env.endpoint),
    });
    const viaAsync: string[] = [];
    for await (const e of pkg) viaAsync.push(e.logicalKey);
    expect(viaAsync.sort()).toEqual(Object.keys(files).sort());
  });
});
