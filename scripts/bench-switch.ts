// Benchmark (not a test) of `quilt switch` on a large package: how long a mount takes to
// move between two versions of N entries (nested directories of 1,000 entries; v2 changes
// one file), next to the way there was before it, `quilt unmount` + `quilt mount` of the
// other version, in the same run. Both are metadata only (no file is read), in a local
// registry, so the numbers are the daemon's and the kernel's work: opening the version (its
// manifest verified and indexed the first time, read from the local manifest index after),
// the swap, and the kernel invalidation notices. Prints a Markdown section and writes it into
// docs/BENCHMARKS.md between its markers.
//
//   npx tsx scripts/bench-switch.ts [--entries 100000] [--runs 5] [--no-build] [--no-write]
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { JsonObject, JsonValue } from "../src/manifest/json-value.js";
import { parseLogicalKey } from "../src/manifest/logical-key.js";
import { Manifest, type ManifestEntry } from "../src/manifest/manifest.js";
import { PhysicalKey } from "../src/manifest/physical-key.js";
import { parseRegistryUrl } from "../src/manifest/registry-url.js";
import { openRegistry, Stores } from "../src/storage/stores.js";
import {
  fmtSeconds,
  intOption,
  REPO_ROOT,
  timeCommand,
  writeSection,
  QUILT_BIN,
  sharedRunLine,
} from "./bench-support.js";

const START = "<!-- bench-switch:start -->";
const END = "<!-- bench-switch:end -->";
const PACKAGE = "bench/switch";
const PER_DIR = 1000;

const { values: args } = parseArgs({
  options: {
    entries: { type: "string" },
    runs: { type: "string" },
    "no-build": { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
  },
});
const entries = intOption(args.entries, "BENCH_SWITCH_ENTRIES", 100_000);
const runs = intOption(args.runs, "BENCH_RUNS", 5);

/** N entries in directories of PER_DIR; `changed` gives one entry other bytes (another hash and size). */
function manifest(n: number, dataDir: string, changed: boolean): Manifest {
  const list: ManifestEntry[] = [];
  for (let i = 0; i < n; i++) {
    const key = `d${String(Math.floor(i / PER_DIR)).padStart(5, "0")}/f${String(i % PER_DIR).padStart(4, "0")}.bin`;
    const other = changed && i === 0;
    list.push({
      logicalKey: parseLogicalKey(key),
      physicalKey: PhysicalKey.local(join(dataDir, key)),
      size: other ? 2048 : 1024,
      hash: new Map<string, JsonValue>([
        ["type", "SHA256"],
        ["value", (other ? n + i : i).toString(16).padStart(64, "0")],
      ]),
      meta: new Map() as JsonObject,
    });
  }
  return Manifest.create({
    header: new Map<string, JsonValue>([["version", "v0"]]),
    dirMeta: new Map(),
    entries: list,
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

async function main(): Promise<void> {
  if (!args["no-build"])
    spawnSync("npx", ["tsc", "-p", "tsconfig.json"], { cwd: REPO_ROOT, stdio: "inherit" });
  const root = await mkdtemp(join(tmpdir(), "quilt-bench-switch-"));
  const registryDir = join(root, "registry");
  const registry = `file://${registryDir}`;
  const mnt = join(root, "mnt");
  await mkdir(mnt, { recursive: true });
  const env = {
    ...process.env,
    QUILT_STATE_DIR: join(root, "state"),
    QUILT_CACHE_DIR: join(root, "cache"),
    QUILT_NO_LOG_FILE: "1",
  };
  // timeCommand fails on a non-zero status, with the command's stderr.
  const quilt = async (...a: string[]) =>
    (await timeCommand(process.execPath, [QUILT_BIN, ...a], { env, stdoutTo: "ignore" })).seconds;
  try {
    const stores = new Stores();
    const reg = openRegistry(parseRegistryUrl(registry), stores, { manifestCacheDir: null });
    await reg.pushManifest(PACKAGE, manifest(entries, join(root, "data"), false), { tag: "v1" });
    await reg.pushManifest(PACKAGE, manifest(entries, join(root, "data"), true), { tag: "v2" });
    await stores.close();

    await quilt("mount", `${PACKAGE}:v1`, mnt, "--registry", registry);
    // Each version seen once, so both ways open it from the daemon's manifest index.
    await quilt("switch", mnt, "v2");
    await quilt("switch", mnt, "v1");
    const switches: number[] = [];
    const remounts: number[] = [];
    for (let i = 0; i < runs; i++) {
      const tag = i % 2 === 0 ? "v2" : "v1";
      switches.push(await quilt("switch", mnt, tag));
      await quilt("switch", mnt, tag === "v2" ? "v1" : "v2");
      remounts.push(
        (await quilt("unmount", mnt)) +
          (await quilt("mount", `${PACKAGE}:${tag}`, mnt, "--registry", registry)),
      );
      await quilt("unmount", mnt);
      await quilt("mount", `${PACKAGE}:${tag === "v2" ? "v1" : "v2"}`, mnt, "--registry", registry);
    }
    const sw = median(switches);
    const re = median(remounts);
    const section = [
      START,
      "## `quilt switch` on a large package (scripts/bench-switch.ts)",
      "",
      sharedRunLine(),
      "",
      `A local registry, ${entries.toLocaleString("en")} entries in directories of ${PER_DIR.toLocaleString("en")}, v1 and v2 differing in one file; no file is read. ` +
        `Median of ${runs} runs of the whole CLI command (a Node start included), alternating the versions.`,
      "",
      "| How the mount moves to the other version | Median | Runs |",
      "|---|---|---|",
      `| \`quilt switch DIR TAG\` | ${fmtSeconds(sw)} | ${switches.map(fmtSeconds).join(", ")} |`,
      `| \`quilt unmount DIR\` + \`quilt mount NAME:TAG DIR\` (baseline) | ${fmtSeconds(re)} | ${remounts.map(fmtSeconds).join(", ")} |`,
      `| ratio switch / remount | ${(sw / re).toFixed(2)}× | |`,
      "",
      "The remount is not a real alternative for a training job: it needs the mount idle (no open file, no working directory in it) and leaves the path empty in between; the switch does neither.",
      END,
    ].join("\n");
    console.log(section);
    if (!args["no-write"]) await writeSection(START, END, section);
  } finally {
    await timeCommand(process.execPath, [QUILT_BIN, "daemon", "stop"], { env, stdoutTo: "ignore" }).catch(
      () => undefined,
    );
    spawnSync("fusermount", ["-uz", mnt]);
    await rm(root, { recursive: true, force: true });
  }
}

await main();
