// The library on a local-directory registry (no server): build, push, browse, download,
// incremental re-download, verify and force-match, and the builder's safety refusals.
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  existsSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Package, PackageBuilder, Session } from "../../src/index.js";

function workspace() {
  const root = mkdtempSync(join(tmpdir(), "quilt-lib-"));
  const src = join(root, "src");
  mkdirSync(join(src, "train2017", "sub"), { recursive: true });
  writeFileSync(join(src, "README.md"), "# Dataset\n\nHere is some info.\n");
  for (let i = 1; i <= 5; i++)
    writeFileSync(join(src, "train2017", `${i}.jpg`), `image ${i} `.repeat(100 * i));
  writeFileSync(join(src, "train2017", "sub", "deep.bin"), Buffer.alloc(0));
  writeFileSync(join(src, ".quiltignore"), "*.tmp\nscratch/\n");
  writeFileSync(join(src, "ignored.tmp"), "x");
  mkdirSync(join(src, "scratch"));
  writeFileSync(join(src, "scratch", "y"), "y");
  const ctx = new Session({ cacheDir: join(root, "cache"), env: { HOME: root } });
  return { root, src, registry: join(root, "registry"), ctx };
}

describe("library on a local registry", () => {
  it("builds, pushes, browses, downloads and verifies; a re-download after one change fetches only that file", async () => {
    const { root, src, registry, ctx } = workspace();
    const lines: string[] = [];
    const b = new PackageBuilder("bucket/dataset", { registry, session: ctx, output: (l) => lines.push(l) });
    await b.add(join(src, "README.md"));
    await b.add(join(src, "train2017"));
    expect(b.keys()).toEqual([
      "README.md",
      "train2017/1.jpg",
      "train2017/2.jpg",
      "train2017/3.jpg",
      "train2017/4.jpg",
      "train2017/5.jpg",
      "train2017/sub/deep.bin",
    ]);
    expect(b.toString()).toMatch(/tophash: "pre-manifest"/);
    const top = await b.buildManifest();
    expect(lines).toEqual(["Building manifest...", `Tophash: ${top}`]);
    await expect(b.asPackage()).rejects.toThrow(
      /^Manifest contains pointers to local files\. Use pushData\(\) to first push those files to s3 or use allowLocalFiles: true if this is intentional$/,
    );
    await expect(b.asPackage({ allowLocalFiles: true })).rejects.toThrow(
      /^The manifest has not been pushed to a remote repository/,
    );
    await expect(b.pushManifest()).rejects.toThrow(/pointers to local files/);

    await b.pushData({ prefix: "/data/dataset/v0/" });
    expect(b.topHash).toBe(top); // physical keys are not hashed
    expect(
      lines.some((l) => /Pushing .*train2017\/ to .*registry\/data\/dataset\/v0\/train2017\/\.\.\./.test(l)),
    ).toBe(true);
    const pkg = await b.pushManifest({ tag: "v0" });
    expect(pkg.hash).toBe(top);
    expect((await b.asPackage()).hash).toBe(top);

    const browsed = await Package.browse("bucket/dataset:v0", { registry, session: ctx });
    expect(browsed.hash).toBe(top);
    expect(await browsed.readme()).toMatch(/^# Dataset/);
    expect(browsed.ls().map(String)).toEqual(
      ["README.md", "train2017/"].map((k) =>
        k.endsWith("/") ? k : `PackageEntry('file://${registry}/data/dataset/v0/${k}')`,
      ),
    );
    expect(browsed.toString()).toContain(`"train2017/" -> "${registry}/data/dataset/v0/train2017/..."`);

    const dest = join(root, "installed");
    const first = await browsed.download(dest);
    expect(first.fetched).toHaveLength(7);
    expect(readFileSync(join(dest, "train2017", "3.jpg"), "utf8")).toBe("image 3 ".repeat(300));
    expect((await browsed.verifyDirectoryMatchesManifest(dest)).ok).toBe(true);

    // A new version changes one file: the re-download fetches only that one.
    const b2 = browsed.asPackageBuilder();
    writeFileSync(join(root, "new3.jpg"), "replacement");
    await b2.set("train2017/3.jpg", join(root, "new3.jpg"), { meta: { fixed: true } });
    const v1 = await b2.pushDataAndManifest({ prefix: "data/dataset/v1", tag: "v1" });
    expect(v1.hash).not.toBe(top);
    const second = await v1.download(dest);
    expect(second.fetched).toEqual(["train2017/3.jpg"]);
    expect(second.unchanged).toHaveLength(6);
    expect(v1.getEntry("train2017/3.jpg").metadata).toEqual({ fixed: true });
    expect(browsed.diff(v1)).toEqual({
      added: [],
      removed: [],
      modified: ["train2017/3.jpg"],
      metadataChanged: [],
    });
    expect(browsed.diff(browsed)).toEqual({ added: [], removed: [], modified: [], metadataChanged: [] });
  });

  it("verify reports missing, extra and modified files; force-match repairs without leaving the directory", async () => {
    const { root, src, registry, ctx } = workspace();
    const b = new PackageBuilder("bucket/dataset", { registry, session: ctx });
    await b.add(src, "");
    const pkg = await b.pushDataAndManifest({ tag: "v0" });
    expect(pkg.has("ignored.tmp")).toBe(false);
    expect(pkg.has("scratch/y")).toBe(false);
    expect(pkg.has(".quiltignore")).toBe(true); // as quilt3 does: the workspace can be rebuilt the same way
    const dest = join(root, "dataset");
    await pkg.download(dest);
    rmSync(join(dest, "README.md"));
    appendFileSync(join(dest, "train2017", "1.jpg"), "!");
    writeFileSync(join(dest, "train2017", "2.jpg"), "image 2 ".repeat(199) + "IMAGE 2 "); // same size, other bytes
    writeFileSync(join(dest, "file1.txt"), "extra");
    // A symlink where a directory of the package should be, pointing outside: never followed.
    const outside = join(root, "outside");
    mkdirSync(outside);
    writeFileSync(join(outside, "keep.txt"), "keep");
    rmSync(join(dest, "train2017", "sub"), { recursive: true });
    symlinkSync(outside, join(dest, "train2017", "sub"));

    const report = await pkg.verifyDirectoryMatchesManifest(dest);
    expect(report.ok).toBe(false);
    expect(report.missing).toEqual(["README.md", "train2017/sub/deep.bin"]);
    expect(report.extra).toEqual(["file1.txt", "train2017/sub"]);
    expect(report.modified).toEqual(["train2017/1.jpg", "train2017/2.jpg"]);
    expect(report.lines).toContain(
      `${dest}/file1.txt exists locally, but does not exist in the manifest bucket/dataset:v0`,
    );
    expect(report.lines).toContain(
      `${dest}/train2017/2.jpg exists locally, but contents do not match manifest bucket/dataset:v0`,
    );
    expect(report.lines.at(-1)).toMatch(/^This can be fixed by calling pkg\.forceDirectoryToMatchManifest/);

    const changes = await pkg.forceDirectoryToMatchManifest(dest);
    expect(changes.filter((c) => c.kind === "removed").map((c) => c.key)).toEqual([
      "file1.txt",
      "train2017/sub",
    ]);
    expect(
      changes
        .filter((c) => c.kind === "replaced")
        .map((c) => c.key)
        .sort(),
    ).toEqual(["train2017/1.jpg", "train2017/2.jpg"]);
    expect(
      changes
        .filter((c) => c.kind === "added")
        .map((c) => c.key)
        .sort(),
    ).toEqual(["README.md", "train2017/sub/deep.bin"]);
    expect((await pkg.verifyDirectoryMatchesManifest(dest, { deep: true })).ok).toBe(true);
    expect(readFileSync(join(outside, "keep.txt"), "utf8")).toBe("keep");
    expect(existsSync(join(outside, "deep.bin"))).toBe(false);
  });

  it("moveDirContents fails on the first collision and changes nothing, or overwrites when asked", async () => {
    const { root, registry, ctx } = workspace();
    for (const d of ["labelled", "new_data"]) mkdirSync(join(root, d));
    writeFileSync(join(root, "labelled", "1.jpg"), "old 1");
    writeFileSync(join(root, "new_data", "1.jpg"), "new 1");
    writeFileSync(join(root, "new_data", "2.jpg"), "new 2");
    const b = new PackageBuilder("bucket/dataset", { registry, session: ctx });
    await b.add(join(root, "labelled"));
    await b.add(join(root, "new_data"));
    const before = b.keys();
    expect(() => b.moveDirContents("new_data/", "labelled/")).toThrow(
      'Collision detected. moving "new_data/1.jpg" to "labelled/1.jpg", but "labelled/1.jpg" already exists. Use overwrite: true if you would like to replace "labelled/1.jpg" with "new_data/1.jpg".',
    );
    expect(b.keys()).toEqual(before);
    b.moveDirContents("new_data/", "labelled/", { overwrite: true });
    expect(b.keys()).toEqual(["labelled/1.jpg", "labelled/2.jpg"]);
    const pkg = await b.pushDataAndManifest({ tag: "master" });
    expect((await pkg.getContents("labelled/1.jpg")).toString()).toBe("new 1");
  });

  it("a sampled subset references the same objects and downloads nothing", async () => {
    const { src, registry, ctx } = workspace();
    const b = new PackageBuilder("bucket/full", { registry, session: ctx });
    await b.add(src, "");
    const full = await b.pushDataAndManifest({ tag: "v0" });
    const sub = full.sample(3, 42);
    expect(sub.size).toBe(3);
    const subPkg = await sub.pushManifest({ tag: "sample" });
    for (const e of subPkg) expect(e.physicalKey).toBe(full.getEntry(e.logicalKey).physicalKey);
    const onlyTrain = full.filter((e) => e.logicalKey.startsWith("train2017/"));
    expect(onlyTrain.keys().every((k) => k.startsWith("train2017/"))).toBe(true);
  });
});

describe("reading through the local cache", () => {
  it("a second read and a cached download make no request; clearCache empties the cache", async () => {
    const { root, src, registry, ctx } = workspace();
    const b = new PackageBuilder("bucket/cached", { registry, session: ctx });
    await b.add(src, "");
    const pkg = await b.pushDataAndManifest({ tag: "v0" });
    const first = await pkg.getContents("train2017/5.jpg");
    // Remove the registry copy: from now on only the cache can answer.
    rmSync(join(registry, "bucket", "cached", "train2017", "5.jpg"));
    expect((await pkg.getContents("train2017/5.jpg")).equals(first)).toBe(true);
    const dest = join(root, "from-cache");
    const r = await pkg.download(dest, { paths: ["train2017/5.jpg"] });
    expect(r.fetched).toEqual(["train2017/5.jpg"]);
    expect(readFileSync(join(dest, "train2017", "5.jpg")).equals(first)).toBe(true);
    await pkg.clearCache();
    await expect(pkg.getContents("train2017/5.jpg")).rejects.toThrow(/ENOTFOUND|not found|no such/i);
    await expect(pkg.cache("train2017/")).rejects.toMatchObject({ code: "ENOTFOUND" }); // 5.jpg is gone
    expect(await pkg.cache("train2017/sub/")).toMatchObject({
      entries: 1,
      bytes: 0,
      bytesFetched: 0,
      errors: [],
    });
    const one = await pkg.cache("train2017/4.jpg");
    // The call that failed on 5.jpg cached 4.jpg first: resumed, it fetches nothing more.
    expect(one).toMatchObject({
      entries: 1,
      bytes: 3200,
      bytesFetched: 0,
      entriesCached: 1,
      bytesCached: 3200,
    });
    rmSync(join(registry, "bucket", "cached", "train2017", "4.jpg"));
    expect((await pkg.getContents("train2017/4.jpg")).toString()).toBe("image 4 ".repeat(400));
  });
});

describe("pushing twice to one prefix of a registry without versioning", () => {
  it("keeps the bytes of the earlier version instead of overwriting them", async () => {
    const { root, registry, ctx } = workspace();
    const dir = join(root, "data");
    mkdirSync(dir);
    writeFileSync(join(dir, "a.txt"), "version one");
    writeFileSync(join(dir, "same.txt"), "unchanged");
    const b = new PackageBuilder("ns/twice", { registry, session: ctx });
    await b.add(dir, "");
    const v0 = await b.pushDataAndManifest({ prefix: "p", tag: "v0" });
    writeFileSync(join(dir, "a.txt"), "version two!");
    const b2 = v0.asPackageBuilder();
    await b2.set("a.txt", join(dir, "a.txt"));
    const v1 = await b2.pushDataAndManifest({ prefix: "p", tag: "v1" });
    await ctx.close();
    const fresh = new Session({ cacheDir: join(root, "cache2"), env: { HOME: root } });
    const old = await Package.browse("ns/twice:v0", { registry, session: fresh });
    const cur = await Package.browse("ns/twice:v1", { registry, session: fresh });
    expect((await old.getContents("a.txt")).toString()).toBe("version one");
    expect((await cur.getContents("a.txt")).toString()).toBe("version two!");
    expect(cur.getEntry("same.txt").physicalKey).toBe(old.getEntry("same.txt").physicalKey);
    expect(cur.getEntry("a.txt").physicalKey).toContain("/p/.quilt-versions/");
    expect(v1.hash).not.toBe(v0.hash);
    await fresh.close();
  });
});

describe("partial installs", () => {
  it("a download of some paths is verified on those paths only", async () => {
    const { root, src, registry, ctx } = workspace();
    const b = new PackageBuilder("ns/partial", { registry, session: ctx });
    await b.add(src, "");
    const pkg = await b.pushDataAndManifest({ tag: "v0" });
    const dest = join(root, "partial");
    await pkg.download(dest, { paths: ["train2017/sub/", "README.md"] });
    const r = await pkg.verifyDirectoryMatchesManifest(dest);
    expect(r).toMatchObject({ ok: true, missing: [], extra: [], modified: [] });
    await pkg.download(dest, { paths: ["train2017/1.jpg"] });
    expect((await pkg.verifyDirectoryMatchesManifest(dest)).ok).toBe(true);
    rmSync(join(dest, "README.md"));
    expect((await pkg.verifyDirectoryMatchesManifest(dest)).missing).toEqual(["README.md"]);
    await pkg.download(dest);
    expect((await pkg.verifyDirectoryMatchesManifest(dest)).ok).toBe(true);
    expect(existsSync(join(dest, "train2017", "5.jpg"))).toBe(true);
  });
});
