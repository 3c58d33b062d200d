// The main job on the embedded default, a local-directory registry: build a small sample
// dataset package, push it to the registry, install it elsewhere, verify it, break it and
// force it back; then mount it lazily through FUSE, read through the mount, print the cache
// stats, verify the mount and unmount. Run through scripts/demo.sh, which installs and
// builds first.
import { mkdtempSync, mkdirSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { Package, PackageBuilder, Session, formatChanges } from "../dist/src/index.js";

const root = process.env.QUILT_DEMO_DIR || mkdtempSync(join(tmpdir(), "quilt-demo-"));
const registry = join(root, "registry");
const source = join(root, "source");
const install = join(root, "installed");
const ctx = new Session({ cacheDir: join(root, "cache") });
const say = (line = "") => console.log(line);

say(`Demo directory: ${root}\n`);
mkdirSync(join(source, "train"), { recursive: true });
mkdirSync(join(source, "annotations"), { recursive: true });
writeFileSync(
  join(source, "README.md"),
  "# Sample dataset\n\nTwenty tiny 'images' with annotations, for the quilt demo.\n",
);
const images = [];
for (let i = 1; i <= 20; i++) {
  const path = `${String(i).padStart(4, "0")}.jpg`;
  writeFileSync(join(source, "train", path), randomBytes(2048 + i * 100));
  images.push({ path, image_id: i, label: i % 2 ? "cat" : "dog" });
}
writeFileSync(join(source, "annotations", "train.json"), JSON.stringify({ images }, null, 2));

say("$ PackageBuilder('demo/dataset').add(source) ... pushDataAndManifest({ tag: 'v1' })");
const builder = new PackageBuilder("demo/dataset", { registry, session: ctx, output: say });
await builder.add(source, "");
for (const img of images) builder.setMeta(`train/${img.path}`, { label: img.label, image_id: img.image_id });
builder.setMessage("first version of the sample dataset");
const pushed = await builder.pushDataAndManifest({ tag: "v1" });
say();

say("$ Package.browse('demo/dataset:v1')");
const pkg = await Package.browse("demo/dataset:v1", { registry, session: ctx });
say(pkg.toString());
say(`readme: ${JSON.stringify((await pkg.readme()).split("\n")[0])}`);
say(`metadata of train/0003.jpg: ${JSON.stringify(pkg.getEntry("train/0003.jpg").metadata)}\n`);
if (pkg.hash !== pushed.hash) throw new Error("browsed hash differs from pushed hash");

say(`$ pkg.download('${install}')`);
const dl = await pkg.download(install);
say(`fetched ${dl.fetched.length} files (${dl.bytesFetched} bytes)`);
let report = await pkg.verifyDirectoryMatchesManifest(install);
say(`verify: ${report.ok}\n`);
if (!report.ok) throw new Error("fresh install does not verify");

say("Changing one file and adding another, then verifying again:");
appendFileSync(join(install, "train", "0005.jpg"), "tampered");
writeFileSync(join(install, "notes.txt"), "not part of the package");
report = await pkg.verifyDirectoryMatchesManifest(install);
say(`verify: ${report.ok}`);
for (const line of report.lines) say(line);
const changes = await pkg.forceDirectoryToMatchManifest(install);
for (const line of formatChanges(changes, install)) say(line);
report = await pkg.verifyDirectoryMatchesManifest(install);
say(`verify: ${report.ok}`);
await ctx.close();
if (!report.ok) throw new Error("force-match did not repair the directory");

// The lazy mount, through the CLI as a user would run it; daemon state stays in the demo dir.
const quilt = fileURLToPath(new URL("../bin/quilt.js", import.meta.url));
const env = { ...process.env, QUILT_STATE_DIR: join(root, "state"), QUILT_CACHE_DIR: join(root, "cache") };
const run = (...args) => {
  say(`\n$ quilt ${args.join(" ")}`);
  const out = execFileSync(process.execPath, [quilt, ...args], { env, encoding: "utf8" });
  process.stdout.write(out);
  return out;
};
const mnt = join(root, "mnt");
mkdirSync(mnt, { recursive: true });
try {
  run("mount", "demo/dataset:v1", mnt, "--registry", registry);
  // Read through the mount like training code would: plain file reads, metadata from xattrs.
  const annotations = JSON.parse(await readFile(join(mnt, "annotations", "train.json"), "utf8"));
  let bytes = 0;
  for (const img of annotations.images.slice(0, 10))
    bytes += (await readFile(join(mnt, "train", img.path))).length;
  say(`\nread annotations and 10 images (${bytes} bytes) through ${mnt}`);
  run("mounts");
  run("daemon", "status");
  run("verify", mnt);
} finally {
  run("unmount", mnt);
  run("daemon", "stop");
}
say(
  "\nDemo finished: package built, pushed, installed, verified, repaired, mounted, read and verified again.",
);
