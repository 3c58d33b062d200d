// USECASES.md "Explore Dataset" on the moto server: read the README, list the top level
// and a subdirectory (directories with a trailing "/"), read one file's contents and
// metadata, pick the files of a listing with isFile(). Exploring must not wait for the
// dataset: a counting proxy in front of moto shows that only the bytes asked for are read.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Package, PackageBuilder, PackageDirectory, PackageEntry } from "../../src/index.js";
import { pseudoRandomBytes } from "../helpers/package-fixtures.js";
import { uniquePrefix } from "../helpers/s3.js";
import {
  cleanupAll,
  newContext,
  sha256Hex,
  startCountingProxy,
  tempRoot,
  usecaseEnv,
  writeTree,
} from "../helpers/usecase-support.js";

const env = usecaseEnv();
afterAll(cleanupAll);

const salt = uniquePrefix("ucexp");
const name = `${salt}/dataset`;
const dataPrefix = `${salt}-data/`;
const README = "# Dataset\n\nHere is some info about our dataset...\n";
const huge = {
  rows: Array.from({ length: 2000 }, (_, i) => ({ id: i, label: i % 3 === 0 ? "cat" : "dog" })),
};
const files: Record<string, string | Buffer> = {
  "README.md": README,
  "cats/file1.txt": "a first cat\n",
  "cats/tabby/1.jpg": pseudoRandomBytes(20_000, `${salt}-t1`),
  "cats/tabby/2.jpg": pseudoRandomBytes(30_000, `${salt}-t2`),
  "dogs/rex.jpg": pseudoRandomBytes(25_000, `${salt}-rex`),
  "rats/r.txt": "squeak\n",
  "other/huge_file.json": JSON.stringify(huge),
};
const FILE1_META = { source: "shelter", count: 3, tags: ["tabby", "indoor"] };

beforeAll(async () => {
  const src = writeTree(tempRoot("explore"), files);
  const b = new PackageBuilder(name, { registry: env.registry, session: newContext(env.endpoint) });
  await b.add(src, "");
  b.setMeta("cats/file1.txt", FILE1_META);
  await b.pushDataAndManifest({ prefix: dataPrefix, tag: "latest" });
});

describe("use case: Explore Dataset", () => {
  it("reads the readme, lists directories, reads contents and metadata, and fetches nothing else", async () => {
    const proxy = await startCountingProxy(env.endpoint);
    const pkg = await Package.browse(name, { registry: env.registry, session: newContext(proxy.endpoint) });
    // Loading the package reads the manifest only.
    expect(proxy.gets(dataPrefix)).toEqual([]);

    const readme = await pkg.readme();
    expect(readme).toBe(README);

    const top = pkg.ls();
    expect(top.map((e) => e.logicalKey)).toEqual(["README.md", "cats/", "dogs/", "other/", "rats/"]);
    expect(top.map((e) => e.isFile())).toEqual([true, false, false, false, false]);
    expect(top[0]).toBeInstanceOf(PackageEntry);
    expect(top[1]).toBeInstanceOf(PackageDirectory);
    expect(String(top[1])).toBe("cats/");

    const cats = pkg.ls("cats/");
    expect(cats.map((e) => e.logicalKey)).toEqual(["cats/file1.txt", "cats/tabby/"]);
    expect(pkg.ls("cats").map((e) => e.logicalKey)).toEqual(["cats/file1.txt", "cats/tabby/"]);
    expect(pkg.ls("cats/tabby/").map((e) => e.logicalKey)).toEqual(["cats/tabby/1.jpg", "cats/tabby/2.jpg"]);

    const file1Contents = await pkg.getContents("cats/file1.txt");
    expect(file1Contents.toString()).toBe("a first cat\n");
    const file1Metadata = pkg.getMetadata("cats/file1.txt");
    expect(file1Metadata).toEqual(FILE1_META);

    const filesToInspect = pkg
      .ls("cats/")
      .filter((entry) => entry.isFile())
      .map((entry) => entry.logicalKey);
    expect(filesToInspect).toEqual(["cats/file1.txt"]);

    // Only README.md and cats/file1.txt were read, once each, whole (a plain GET, or a ranged
    // GET of the whole object through the block cache).
    const gets = proxy.gets(dataPrefix).map((r) => ({
      key: r.key.slice(dataPrefix.length),
      bytes: r.bytesOut,
      status: r.status === 206 ? 200 : r.status,
    }));
    expect(gets.sort((a, b) => (a.key < b.key ? -1 : 1))).toEqual([
      { key: "README.md", bytes: Buffer.byteLength(README), status: 200 },
      { key: "cats/file1.txt", bytes: Buffer.byteLength("a first cat\n"), status: 200 },
    ]);
    expect(proxy.requests.filter((r) => r.method !== "GET" && r.method !== "HEAD")).toEqual([]);
  });

  it("gets a JSON file parsed, and other files as bytes", async () => {
    const pkg = await Package.browse(name, { registry: env.registry, session: newContext(env.endpoint) });
    expect(await pkg.get("other/huge_file.json")).toEqual(huge);
    expect(await pkg.get("rats/r.txt")).toBe("squeak\n");
    const jpg = (await pkg.get("dogs/rex.jpg")) as Buffer;
    expect(sha256Hex(jpg)).toBe(sha256Hex(files["dogs/rex.jpg"] as Buffer));
    expect(() => pkg.getEntry("cats/nope.txt")).toThrow(/No entry "cats\/nope.txt"/);
    expect(() => pkg.ls("mice/")).toThrow(/No directory "mice\/"/);
  });
});
