// Behaviours a quilt3 user relies on, checked against the real quilt3 on one package it
// builds into a local registry directory (two versions, with push messages and directory
// metadata): diff's direction, verify's hashing, the messages `quilt log` shows, directory
// metadata, and `quilt hash` of a mount of it.
import { execFileSync } from "node:child_process";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Package, Session } from "../../src/index.js";
import { runCli } from "../helpers/cli.js";
import { DaemonSandbox } from "../helpers/daemon-harness.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";
import { QUILT3_PRELUDE, removeTempDirs, tempDir } from "../helpers/package-fixtures.js";
import { runQuilt3Json } from "../helpers/quilt3.js";
import { writeTree } from "../helpers/usecase-support.js";

const NAME = "parity/pkg";

interface Built {
  v1: string;
  v2: string;
  /** quilt3's own answers, to compare ours with. */
  diff12: { added: string[]; modified: string[]; deleted: string[] };
  diff21: { added: string[]; modified: string[]; deleted: string[] };
  dirMeta: unknown;
  noDirMeta: unknown;
}

let root: string;
let registry: string;
let built: Built;
let context: Session;

const cliEnv = (): Record<string, string> => ({
  QUILT_REGISTRY: registry,
  QUILT_CACHE_DIR: join(root, "cli-cache"),
  QUILT_STATE_DIR: join(root, "state"),
  AWS_ENDPOINT_URL: "http://127.0.0.1:9",
  AWS_MAX_ATTEMPTS: "1",
});
const cli = (args: string[]) => runCli(args, { env: cliEnv(), cwd: root });

beforeAll(async () => {
  root = tempDir("quilt-parity-");
  registry = join(root, "registry");
  const data = writeTree(join(root, "data"), {
    "a.txt": "same in both\n",
    "b1.txt": "b, first\n",
    "b2.txt": "b, second\n",
    "c.txt": "c: only its metadata changes\n",
    "d.txt": "deleted in v2\n",
    "e.txt": "added in v2\n",
    "sub/x.txt": "in a directory with metadata\n",
    "plain/y.txt": "in a directory without\n",
  });
  built = await runQuilt3Json<Built>(
    QUILT3_PRELUDE +
      `import time
reg, d = A["registry"], A["data"]
f = lambda n: os.path.join(d, *n.split("/"))
with contextlib.redirect_stdout(sys.stderr):
    p1 = Package()
    for lk in ["a.txt", "d.txt", "sub/x.txt", "plain/y.txt"]:
        p1.set(lk, f(lk))
    p1.set("b.txt", f("b1.txt"))
    p1.set("c.txt", f("c.txt"), meta={"round": 1})
    p1["sub"].set_meta({"kind": "directory", "n": 2})
    v1 = p1.build(A["name"], registry=reg, message="first version")
    time.sleep(1.1)  # its own timestamp pointer, so both versions are listed
    p2 = Package.browse(A["name"], registry=reg, top_hash=v1)
    p2.set("b.txt", f("b2.txt"))
    p2.set("c.txt", f("c.txt"), meta={"round": 2})
    p2.delete("d.txt")
    p2.set("e.txt", f("e.txt"))
    v2 = p2.build(A["name"], registry=reg, message="second: b changed, d out, e in")
    p1 = Package.browse(A["name"], registry=reg, top_hash=v1)
    p2 = Package.browse(A["name"], registry=reg, top_hash=v2)
def diff(a, b):
    added, modified, deleted = a.diff(b)
    return {"added": added, "modified": modified, "deleted": deleted}
print(json.dumps({"v1": v1, "v2": v2, "diff12": diff(p1, p2), "diff21": diff(p2, p1),
    "dirMeta": p1["sub"].meta, "noDirMeta": p1["plain"].meta}))`,
    { registry: pathToFileURL(registry).href, data, name: NAME },
  );
  context = new Session({ cacheDir: join(root, "lib-cache") });
}, 120_000);

afterAll(async () => {
  await context?.close();
  removeTempDirs();
});

const browse = (hash: string) => Package.browse(NAME, { registry, hash, session: context });

describe("diff runs the way of quilt3's Package.diff", () => {
  it("a.diff(b): added is in b only, removed (quilt3's deleted) in a only, both ways", async () => {
    const [p1, p2] = await Promise.all([browse(built.v1), browse(built.v2)]);
    expect(built.diff12).toEqual({ added: ["e.txt"], modified: ["b.txt", "c.txt"], deleted: ["d.txt"] });
    for (const [a, b, theirs] of [
      [p1, p2, built.diff12],
      [p2, p1, built.diff21],
    ] as const) {
      const ours = a.diff(b);
      expect(ours.added).toEqual(theirs.added);
      expect(ours.removed).toEqual(theirs.deleted);
      expect([...ours.modified, ...ours.metadataChanged].sort()).toEqual(theirs.modified);
    }
    expect(p1.diff(p2)).toMatchObject({ modified: ["b.txt"], metadataChanged: ["c.txt"] });
  });

  it("quilt diff A B says what was added and removed going from A to B", async () => {
    const [human, json] = await Promise.all([
      cli(["diff", `${NAME}@${built.v1}`, `${NAME}@${built.v2}`]),
      cli(["diff", `${NAME}@${built.v1}`, `${NAME}@${built.v2}`, "--json"]),
    ]);
    expect(human.stderr).toBe("");
    expect(human.stdout).toContain("  added:    e.txt\n");
    expect(human.stdout).toContain("  removed:  d.txt\n");
    expect(human.stdout).toContain("  modified: b.txt\n");
    expect(human.stdout).toContain("  metadata: c.txt\n");
    expect(JSON.parse(json.stdout)).toMatchObject({
      added: built.diff12.added,
      removed: built.diff12.deleted,
      modified: ["b.txt"],
      metadataChanged: ["c.txt"],
    });
  });
});

describe("verify hashes what it cannot prove untouched, as quilt3 hashes everything", () => {
  it("catches a same-size rewrite whose mtime was put back; --deep hashes every file", async () => {
    const dest = join(root, "installed");
    const install = await cli(["install", `${NAME}@${built.v1}`, "--dest", dest]);
    expect(install.stderr).toBe("");
    const untouched = await cli(["verify", dest, "--json"]);
    expect(JSON.parse(untouched.stdout)).toMatchObject({ ok: true, hashed: 0 });
    const deep = await cli(["verify", dest, "--json", "--deep"]);
    expect(JSON.parse(deep.stdout)).toMatchObject({ ok: true, hashed: 6 });

    // Same size, same mtime to the nanosecond (put back with `touch -r`), same inode: only ctime moved.
    const file = join(dest, "a.txt");
    const saved = join(root, "a.times");
    execFileSync("touch", ["-r", file, saved]);
    const before = statSync(file, { bigint: true });
    writeFileSync(file, "SAME IN BOTH\n");
    execFileSync("touch", ["-r", saved, file]);
    const after = statSync(file, { bigint: true });
    expect([after.size, after.mtimeNs, after.ino]).toEqual([before.size, before.mtimeNs, before.ino]);
    expect(after.ctimeNs).not.toBe(before.ctimeNs);

    const caught = await cli(["verify", dest]);
    expect(caught.code).toBe(1);
    expect(caught.stdout).toContain(`${dest}/a.txt exists locally, but contents do not match manifest`);
    const theirs = await runQuilt3Json<{ ok: boolean }>(
      QUILT3_PRELUDE +
        `p = Package.browse(A["name"], registry=A["registry"], top_hash=A["hash"])
print(json.dumps({"ok": p.verify(A["dir"])}))`,
      { name: NAME, registry: pathToFileURL(registry).href, hash: built.v1, dir: dest },
    );
    expect(theirs.ok).toBe(false);
  });
});

describe("log, meta and hash show what quilt3 users look for", () => {
  it("quilt log shows each version's push message (quilt3's message), newest first", async () => {
    const [human, json] = await Promise.all([cli(["log", NAME]), cli(["log", NAME, "--json"])]);
    expect(human.stderr).toBe("");
    const lines = human.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(new RegExp(`^\\S+  ${built.v2}  latest$`));
    expect(lines[1]).toBe("    second: b changed, d out, e in");
    expect(lines[2]).toMatch(new RegExp(`^\\S+  ${built.v1}$`));
    expect(lines[3]).toBe("    first version");
    const doc = JSON.parse(json.stdout) as { versions: { topHash: string; message: string | null }[] };
    expect(doc.versions.map((v) => [v.topHash, v.message])).toEqual([
      [built.v2, "second: b changed, d out, e in"],
      [built.v1, "first version"],
    ]);
  });

  it("quilt meta PKG dir/ prints a directory's metadata as quilt3 reads it, {} when it has none", async () => {
    const spec = `${NAME}@${built.v1}`;
    expect(built.dirMeta).toEqual({ kind: "directory", n: 2 });
    expect(built.noDirMeta).toEqual({});
    const [withMeta, bare, without, missing] = await Promise.all([
      cli(["meta", spec, "sub/", "--json"]),
      cli(["meta", spec, "sub", "--json"]),
      cli(["meta", spec, "plain/", "--json"]),
      cli(["meta", spec, "nowhere/"]),
    ]);
    expect(JSON.parse(withMeta.stdout)).toEqual(built.dirMeta);
    expect(JSON.parse(bare.stdout)).toEqual(built.dirMeta);
    expect(JSON.parse(without.stdout)).toEqual(built.noDirMeta);
    expect(missing.code).toBe(4);
    const pkg = await browse(built.v1);
    expect(pkg.getMetadata("sub/")).toEqual(built.dirMeta);
    expect(pkg.getMetadata("c.txt")).toEqual({ round: 1 });
  });

  it.skipIf(fuseUnavailable() !== null)(
    "quilt hash MOUNT prints the mounted version's top hash, after a switch too",
    async () => {
      const box = await DaemonSandbox.create("parity-hash", { endpoint: "http://127.0.0.1:9" });
      try {
        const mnt = await box.mountDir();
        await box.mount(`${NAME}@${built.v1}`, mnt, registry);
        expect((await box.ok(["hash", mnt])).stdout).toBe(`${built.v1}\n`);
        await box.ok(["switch", mnt, `@${built.v2}`]);
        expect((await box.ok(["hash", mnt])).stdout).toBe(`${built.v2}\n`);
      } finally {
        await box.cleanup();
      }
    },
  );
});

describe("--registry NAME without s3://", () => {
  it("an existing directory is that registry, as for quilt3; another bare name is refused with a hint, not searched", async () => {
    // quilt3 takes any bare name for a directory under the current one: "mybucket" lists nothing.
    const theirs = await runQuilt3Json<{ root: string; packages: string[]; existing: string[] }>(
      `import quilt3
from quilt3.backends import get_package_registry
print(json.dumps({"root": str(get_package_registry("mybucket").root),
    "packages": list(quilt3.list_packages("mybucket")), "existing": list(quilt3.list_packages("registry"))}))`,
      null,
      { cwd: root },
    );
    expect(theirs.root).toBe(`${pathToFileURL(join(root, "mybucket")).href}/.quilt`);
    expect(theirs.packages).toEqual([]);
    expect(theirs.existing).toEqual([NAME]);

    const [existing, bare, dotted] = await Promise.all([
      cli(["list", "--registry", "registry"]),
      cli(["list", "--registry", "mybucket"]),
      cli(["list", "--registry", "./mybucket"]),
    ]);
    expect(existing.stdout).toBe(`${NAME}\n`);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toBe(
      'Error: Registry "mybucket" is not an existing directory, and an S3 registry is written s3://BUCKET\n' +
        "hint: for the bucket write s3://mybucket; for a new local directory write ./mybucket\n",
    );
    expect(dotted.code).toBe(4); // a path: the directory is looked for, and is not there
  });
});
