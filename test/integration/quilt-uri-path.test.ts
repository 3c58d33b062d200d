// quilt3's catalog links name a file or directory inside a package version:
// `quilt+s3://bucket#package=ns/name@hash&path=cats/`. The commands that take a path inside
// a package (ls, cat, meta, install, cache prefetch) honour it; every other command refuses
// such a URI (exit 2) rather than silently use the whole version, and so does the library's
// Package.browse (browsePath returns the version and the path).
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browsePath, Package, PackageBuilder } from "../../src/index.js";
import { runCli } from "../helpers/cli.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";
import { cleanupAll, newContext, tempRoot, writeTree } from "../helpers/usecase-support.js";

const s3 = s3TestEnv();
const registry = `s3://${s3.bucket}`;
const name = `${uniquePrefix("uripath")}/pkg`;
const FILES = {
  "README.md": "# top\n",
  "cats/a.txt": "cat a\n",
  "cats/b.txt": "cat b\n",
  "dogs/c.txt": "dog c\n",
};
let hash: string;
let root: string;

const cli = (args: string[]) =>
  runCli(args, {
    env: { ...s3.env, QUILT_CACHE_DIR: join(root, "cache"), QUILT_STATE_DIR: join(root, "state") },
    cwd: root,
  });
const uri = (path?: string) =>
  `quilt+s3://${s3.bucket}#package=${name}@${hash}${path !== undefined ? `&path=${path}` : ""}`;

beforeAll(async () => {
  root = tempRoot("uripath");
  const ctx = newContext(s3.endpoint);
  const b = new PackageBuilder(name, { registry, session: ctx });
  await b.add(writeTree(join(root, "src"), FILES), "");
  b.setMeta("cats/a.txt", { color: "gray" });
  hash = (await b.pushDataAndManifest({ prefix: `${name}/data`, tag: "v1" })).hash;
});

afterAll(cleanupAll);

describe("quilt+ URIs with &path=", () => {
  it("ls, cat and meta read the file or directory the URI names", async () => {
    const [dir, bare, file, cat, meta] = await Promise.all([
      cli(["ls", uri("cats/")]),
      cli(["ls", uri("/cats")]),
      cli(["ls", uri("cats/a.txt")]),
      cli(["cat", uri("cats/b.txt")]),
      cli(["meta", uri("cats/a.txt"), "--json"]),
    ]);
    expect(dir.stderr).toBe("");
    expect(dir.stdout).toBe("cats/a.txt\ncats/b.txt\n");
    expect(bare.stdout).toBe(dir.stdout);
    expect(file.stdout).toBe("cats/a.txt\n");
    expect(cat.stdout).toBe(FILES["cats/b.txt"]);
    expect(JSON.parse(meta.stdout)).toEqual({ color: "gray" });
  });

  it("install and cache prefetch take the path for --path and PREFIX", async () => {
    const dest = mkdtempSync(join(tmpdir(), "quilt-uripath-dest-"));
    const install = await cli(["install", uri("cats/"), "--dest", dest]);
    expect(install.stderr).toBe("");
    expect(readFileSync(join(dest, "cats", "a.txt"), "utf8")).toBe(FILES["cats/a.txt"]);
    expect(existsSync(join(dest, "dogs"))).toBe(false);
    expect(existsSync(join(dest, "README.md"))).toBe(false);
    expect((await cli(["verify", dest])).code).toBe(0);
    const prefetch = await cli(["cache", "prefetch", uri("dogs/"), "--json"]);
    expect(JSON.parse(prefetch.stdout)).toMatchObject({ prefixes: ["dogs/"], entries: 1, errors: [] });
  });

  it("a path that is not in the version, or a path given twice, is refused", async () => {
    const [missing, twice, twiceInstall] = await Promise.all([
      cli(["ls", uri("nope/")]),
      cli(["ls", uri("cats/"), "dogs/"]),
      cli(["install", uri("cats/"), "--path", "dogs/", "--dest", join(root, "never")]),
    ]);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/^Error: No file or directory "nope\/" in .*\nhint: /);
    for (const r of [twice, twiceInstall]) {
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/names a path \(path=cats\/\) and .* is given too\nhint: /);
    }
    expect(existsSync(join(root, "never"))).toBe(false);
  });

  it("the commands that take a whole version refuse a URI with a path instead of ignoring it", async () => {
    const mnt = join(root, "mnt");
    const results = await Promise.all([
      cli(["diff", uri("cats/"), uri()]),
      cli(["readme", uri("cats/")]),
      cli(["mount", uri("cats/"), mnt]),
      cli(["tag", uri("cats/"), "v2"]),
    ]);
    for (const r of results) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(
        /names "cats\/" inside the package, and this takes a whole package version\nhint: /,
      );
    }
    expect((await cli(["readme", uri()])).stdout).toBe(FILES["README.md"]);
  });

  it("the library: Package.browse refuses the path, browsePath returns it", async () => {
    const ctx = newContext(s3.endpoint);
    await expect(Package.browse(uri("cats"), { session: ctx })).rejects.toMatchObject({ code: "EBADSPEC" });
    const { package: pkg, path } = await browsePath(uri("cats"), { session: ctx });
    expect([pkg.hash, path]).toEqual([hash, "cats/"]);
    expect((await browsePath(uri(), { session: ctx })).path).toBeUndefined();
  });
});
