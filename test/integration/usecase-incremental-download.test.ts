// USECASES.md "Incremental Download for Consumers" on the moto server. The three-file
// example: a new version removes file1 and file2 and changes file3; the directory holding
// the old version does not match (2 extra, 1 modified, with the use case's lines),
// force-match removes two and replaces one from S3, then it matches. And the byte count:
// re-downloading after one file changed fetches only that file, as the DownloadResult
// says and as a counting proxy in front of moto confirms.
import { existsSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Package, PackageBuilder } from "../../src/index.js";
import { pseudoRandomBytes } from "../helpers/package-fixtures.js";
import { uniquePrefix } from "../helpers/s3.js";
import {
  cleanupAll,
  newContext,
  sha256Hex,
  startCountingProxy,
  tempRoot,
  usecaseEnv,
  withCwd,
  writeTree,
} from "../helpers/usecase-support.js";

const env = usecaseEnv();
afterAll(cleanupAll);

const NEW_TAG = "removed_some_items_changed_one_item";

/** Pushes file1..3 as `old`, then a version without file1 and file2 and with a new file3. */
async function threeFileVersions(label: string) {
  const salt = uniquePrefix(label);
  const name = `${salt}/dataset`;
  const ctx = newContext(env.endpoint);
  const root = tempRoot(label);
  const src = writeTree(join(root, "src"), {
    "file1.txt": "one\n",
    "file2.txt": "two two\n",
    "file3.txt": "three three three\n",
  });
  writeTree(root, { "new_file3.txt": "three, corrected: more bytes\n" });
  const b = new PackageBuilder(name, { registry: env.registry, session: ctx });
  await b.add(src, "");
  const old = await b.pushDataAndManifest({ prefix: `${salt}-data/dataset/v0/`, tag: "old" });
  const nb = old.asPackageBuilder();
  nb.delete("file1.txt").delete("file2.txt");
  await nb.set("file3.txt", join(root, "new_file3.txt"));
  await nb.pushDataAndManifest({ prefix: `${salt}-data/dataset/v1/`, tag: NEW_TAG });
  return { salt, name, root, old };
}

describe("use case: Incremental Download", () => {
  it("three files: 2 extra and 1 modified with the use case's lines; force-match removes 2, replaces 1 from S3", async () => {
    const { name, root, old, salt } = await threeFileVersions("ucinc3");
    await withCwd(root, async () => {
      await old.download("./dataset");
      const pkg = await Package.browse(`${name}:${NEW_TAG}`, {
        registry: env.registry,
        session: newContext(env.endpoint),
      });
      const label = `${name}:${NEW_TAG}`;

      const report = await pkg.verifyDirectoryMatchesManifest("./dataset");
      expect(report.ok).toBe(false);
      expect(report.missing).toEqual([]);
      expect(report.extra).toEqual(["file1.txt", "file2.txt"]);
      expect(report.modified).toEqual(["file3.txt"]);
      expect(report.lines).toEqual([
        `./dataset/file1.txt exists locally, but does not exist in the manifest ${label}`,
        `./dataset/file2.txt exists locally, but does not exist in the manifest ${label}`,
        `./dataset/file3.txt exists locally, but contents do not match manifest ${label}`,
        `This can be fixed by calling pkg.forceDirectoryToMatchManifest("./dataset")`,
      ]);

      const changes = await pkg.forceDirectoryToMatchManifest("./dataset");
      const file3 = pkg.getEntry("file3.txt").physicalKey;
      expect(file3.startsWith(`${env.registry}/${salt}-data/dataset/v1/file3.txt`)).toBe(true);
      expect(changes).toEqual([
        { kind: "removed", key: "file1.txt" },
        { kind: "removed", key: "file2.txt" },
        { kind: "replaced", key: "file3.txt", source: file3 },
      ]);
      expect(existsSync("./dataset/file1.txt")).toBe(false);
      expect(existsSync("./dataset/file2.txt")).toBe(false);
      expect(readFileSync("./dataset/file3.txt", "utf8")).toBe("three, corrected: more bytes\n");

      const after = await pkg.verifyDirectoryMatchesManifest("./dataset");
      expect(after).toMatchObject({ ok: true, missing: [], extra: [], modified: [], lines: [] });
      expect((await pkg.verifyDirectoryMatchesManifest("./dataset", { deep: true })).ok).toBe(true);
    });
  });

  it("download of the new version into the old one's directory fetches only file3 and leaves the 2 extra files to force-match", async () => {
    const { name, root, old } = await threeFileVersions("ucinc3dl");
    const dir = join(root, "dataset");
    await old.download(dir);
    const pkg = await Package.browse(`${name}:${NEW_TAG}`, {
      registry: env.registry,
      session: newContext(env.endpoint),
    });
    const result = await pkg.download(dir);
    expect(result.fetched).toEqual(["file3.txt"]);
    expect(result.bytesFetched).toBe(Buffer.byteLength("three, corrected: more bytes\n"));
    const report = await pkg.verifyDirectoryMatchesManifest(dir);
    expect(report).toMatchObject({ ok: false, missing: [], extra: ["file1.txt", "file2.txt"], modified: [] });
    expect(await pkg.forceDirectoryToMatchManifest(dir)).toEqual([
      { kind: "removed", key: "file1.txt" },
      { kind: "removed", key: "file2.txt" },
    ]);
    expect((await pkg.verifyDirectoryMatchesManifest(dir)).ok).toBe(true);
  });

  it("re-downloading after one file changed fetches only that file (DownloadResult and S3 requests agree)", async () => {
    const salt = uniquePrefix("ucincbytes");
    const name = `${salt}/dataset`;
    const dataPrefix = `${salt}-data/`;
    const root = tempRoot("incbytes");
    const files = Object.fromEntries(
      Array.from({ length: 6 }, (_, i) => [
        `part-${i}.bin`,
        pseudoRandomBytes(40_000 + 10_000 * i, `${salt}-${i}`),
      ]),
    );
    const src = writeTree(join(root, "src"), files);
    const changed = pseudoRandomBytes(47_000, `${salt}-changed`);
    writeTree(root, { "changed.bin": changed });
    const pushCtx = newContext(env.endpoint);
    const b = new PackageBuilder(name, { registry: env.registry, session: pushCtx });
    await b.add(src, "");
    const v1 = await b.pushDataAndManifest({ prefix: dataPrefix, tag: "v1" });

    const proxy = await startCountingProxy(env.endpoint);
    const ctx = newContext(proxy.endpoint);
    const dir = join(root, "installed");
    const first = await (
      await Package.browse(`${name}:v1`, { registry: env.registry, session: ctx })
    ).download(dir);
    const total = Object.values(files).reduce((n, f) => n + f.length, 0);
    expect(first.bytesFetched).toBe(total);
    expect(proxy.gets(dataPrefix).reduce((n, r) => n + r.bytesOut, 0)).toBe(total);

    const nb = v1.asPackageBuilder();
    await nb.set("part-3.bin", join(root, "changed.bin"));
    await nb.pushDataAndManifest({ prefix: dataPrefix, tag: "v2" });

    proxy.reset();
    const v2 = await Package.browse(`${name}:v2`, { registry: env.registry, session: ctx });
    const second = await v2.download(dir);
    expect(second.fetched).toEqual(["part-3.bin"]);
    expect([...second.unchanged].sort()).toEqual(
      Object.keys(files)
        .filter((k) => k !== "part-3.bin")
        .sort(),
    );
    expect(second.bytesFetched).toBe(changed.length);
    // What went over the wire: one object, its bytes and nothing else from the data prefix.
    const gets = proxy.gets(dataPrefix);
    expect(gets.map((r) => r.key)).toEqual(gets.map(() => `${dataPrefix}part-3.bin`));
    expect(gets.reduce((n, r) => n + r.bytesOut, 0)).toBe(changed.length);
    expect(sha256Hex(readFileSync(join(dir, "part-3.bin")))).toBe(sha256Hex(changed));
    expect((await v2.verifyDirectoryMatchesManifest(dir, { deep: true })).ok).toBe(true);

    // Nothing changed: a third download fetches nothing at all.
    proxy.reset();
    const third = await v2.download(dir);
    expect(third.fetched).toEqual([]);
    expect(third.bytesFetched).toBe(0);
    expect(proxy.gets(dataPrefix)).toEqual([]);
  });
  it("a temporary file a killed download left is ignored by verify, and removed by the next download and by force-match", async () => {
    const { name, root, old } = await threeFileVersions("ucinctmp");
    await withCwd(root, async () => {
      await old.download("./dataset");
      // What a download killed while writing file2.txt leaves: its temp, file2.txt not there yet.
      const leftover = join("dataset", ".file2.txt.0123456789ab-1.quilt-tmp");
      writeFileSync(leftover, "half of file2");
      const longAgo = new Date(Date.now() - 3600_000);
      utimesSync(leftover, longAgo, longAgo);
      rmSync(join("dataset", "file2.txt"));
      const pkg = await Package.browse(`${name}:old`, {
        registry: env.registry,
        session: newContext(env.endpoint),
      });
      const before = await pkg.verifyDirectoryMatchesManifest("./dataset");
      expect(before.extra).toEqual([]); // the leftover is not the user's extra file
      expect(before.missing).toEqual(["file2.txt"]);
      await old.download("./dataset");
      expect(existsSync(leftover)).toBe(false);
      expect((await pkg.verifyDirectoryMatchesManifest("./dataset")).ok).toBe(true);

      // force-match removes one too, wherever it is, without calling it a change of the user's.
      const another = join("dataset", ".file3.txt.ba9876543210-7.quilt-tmp");
      writeFileSync(another, "x");
      const changes = await pkg.forceDirectoryToMatchManifest("./dataset");
      expect(existsSync(another)).toBe(false);
      expect(changes.map((c) => c.key).join("\n")).not.toContain("quilt-tmp");
    });
  });
});
