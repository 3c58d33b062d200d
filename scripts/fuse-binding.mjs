#!/usr/bin/env node
// Builds the FUSE binding (fuse-napi, libfuse 3's high-level API) from source with our patch
// (patches/fuse-napi+<version>.patch): READDIRPLUS entries, so a cold `ls -l` needs no lookup
// per name; use_ino, so stat shows the daemon's inode numbers; and inode invalidation next to
// the entry invalidation the binding has. Built from source because the package's prebuilds
// are unpatched (and only for Node 22 and later). Run by npm as the postinstall step and by
// scripts/setup.sh; idempotent: a stamp in the package's build directory names the patch and
// Node ABI it was built for. Fails loudly when the patch does not apply (another version).
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "package.json"));
const pkgDir = dirname(require.resolve("fuse-napi/package.json"));
const version = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")).version;
const patchFile = join(root, "patches", `fuse-napi+${version}.patch`);
if (!existsSync(patchFile)) {
  fail(`no patch for fuse-napi ${version} (${patchFile}): package.json pins the version the patch is for`);
}
const patch = readFileSync(patchFile);
const want = createHash("sha256").update(patch).update(`abi${process.versions.modules}`).digest("hex");
const stamp = join(pkgDir, "build", "quilt-patch.stamp");
const built = join(pkgDir, "build", "Release", "fuse.node");
if (existsSync(built) && existsSync(stamp) && readFileSync(stamp, "utf8") === want) process.exit(0);

const patchArgs = ["-p1", "--forward", "--fuzz=0", "--silent", "--no-backup-if-mismatch", "-i", patchFile];
if (!succeeds("patch", ["--dry-run", "--reverse", ...patchArgs.filter((a) => a !== "--forward")])) {
  if (!succeeds("patch", ["--dry-run", ...patchArgs])) {
    fail(
      `${patchFile} does not apply to ${pkgDir} (fuse-napi ${version}); is it the version the patch was made for?`,
    );
  }
  execFileSync("patch", patchArgs, { cwd: pkgDir, stdio: "inherit" });
}

// node-gyp: the one npm runs scripts with, else the one bundled with npm next to this node.
const nodeGyp =
  process.env.npm_config_node_gyp ??
  join(
    dirname(process.execPath),
    "..",
    "lib",
    "node_modules",
    "npm",
    "node_modules",
    "node-gyp",
    "bin",
    "node-gyp.js",
  );
if (!existsSync(nodeGyp))
  fail(`node-gyp not found (${nodeGyp}); install npm's node-gyp or set npm_config_node_gyp`);
// Node's headers installed with it (Debian's nodejs, the official tarballs) spare a download.
const prefix = resolve(dirname(process.execPath), "..");
const nodedir =
  process.env.npm_config_nodedir ??
  (existsSync(join(prefix, "include", "node", "node_api.h")) ? prefix : undefined);
const args = [
  nodeGyp,
  "rebuild",
  "--loglevel=warn",
  ...(nodedir === undefined ? [] : [`--nodedir=${nodedir}`]),
];
console.error(`[fuse-binding] building fuse-napi ${version} with ${patchFile}`);
execFileSync(process.execPath, args, { cwd: pkgDir, stdio: ["ignore", "ignore", "inherit"] });
writeFileSync(stamp, want);

function succeeds(cmd, args) {
  try {
    execFileSync(cmd, args, { cwd: pkgDir, stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function fail(message) {
  console.error(`[fuse-binding] ${message}`);
  process.exit(1);
}
