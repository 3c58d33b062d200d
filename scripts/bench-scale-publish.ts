// Million-entry publish and browse (issue 13): builds a package of N entries pointing at
// existing S3 objects (one prefix of s3rver, listed, never copied), pushes its manifest,
// browses it, lists a directory and the top, and diffs two versions that differ by 1% of
// their entries; each step in a fresh process of each tool, timed from spawn to exit with
// its peak RSS from /usr/bin/time. Ours: the CLI (`quilt add s3://...`, `quilt
// push-manifest`, `quilt ls`, `quilt diff`) and the library (PackageBuilder, Package.browse)
// from dist/; quilt3: the same operations in Python. Writes the "Million-entry publish and
// browse" section of docs/BENCHMARKS.md.
//
// Usage: npx tsc -p tsconfig.json && npx tsx scripts/bench-scale-publish.ts [--entries N] [--no-write]
// (BENCH_SCALE_ENTRIES in the environment too; default 1,000,000).
import { mkdtemp, mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { VENV_BIN } from "../test/helpers/moto-server.js";
import { quilt3Env } from "../test/helpers/quilt3.js";
import {
  commitLine,
  fmtSeconds,
  intOption,
  loadLine,
  machineLine,
  measure,
  type Measured,
  REPO_ROOT,
  S3RVER_AWS_ENV,
  startS3rver,
  today,
  writeSection,
} from "./bench-support.js";
import { modifyObjects, writeEmptyObjects } from "./bench-scale-data.js";
import { QUILT3_SCRIPTS, LIBRARY_SCRIPTS } from "./bench-scale-steps.js";

const START = "<!-- bench-scale-publish:start -->";
const END = "<!-- bench-scale-publish:end -->";
const BUCKET = "scale";
const PREFIX = "data/";
const NAME = "bench/scale";
/** One entry in CHANGE_EVERY changes between v1 and v2. */
const CHANGE_EVERY = 100;
const LS_DIR = "d0000/";

const { values: args } = parseArgs({
  options: { entries: { type: "string" }, "no-write": { type: "boolean" } },
});
const ENTRIES = intOption(args.entries, "BENCH_SCALE_ENTRIES", 1_000_000);

interface Row {
  step: string;
  ours: Measured;
  oursHow: string;
  quilt3?: Measured;
  quilt3How: string;
}

function combine(a: Measured, b: Measured): Measured {
  return { seconds: a.seconds + b.seconds, rssMiB: Math.max(a.rssMiB, b.rssMiB), stdout: b.stdout };
}

function ratio(ours: number, theirs: number | undefined): string {
  return theirs === undefined ? "—" : `${(ours / theirs).toFixed(2)}×`;
}

function formatRow(r: Row): string {
  const q = r.quilt3;
  return `| ${r.step} | ${fmtSeconds(r.ours.seconds)} / ${r.ours.rssMiB.toFixed(0)} MiB | ${q ? `${fmtSeconds(q.seconds)} / ${q.rssMiB.toFixed(0)} MiB` : "—"} | ${ratio(r.ours.seconds, q?.seconds)} | ${ratio(r.ours.rssMiB, q?.rssMiB)} | ${r.oursHow} | ${r.quilt3How} |`;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const load = loadLine();
  const scratch = await mkdtemp(join(tmpdir(), "bench-scale-"));
  const rows: Row[] = [];
  try {
    const dataDir = join(scratch, "s3rver");
    const server = await startS3rver(dataDir, [BUCKET]);
    try {
      console.error(`writing ${ENTRIES} empty objects into s3rver's directory ...`);
      writeEmptyObjects(dataDir, BUCKET, PREFIX, ENTRIES);
      const s3env = { ...S3RVER_AWS_ENV, AWS_ENDPOINT_URL: server.endpoint };
      const registry = `s3://${BUCKET}`;
      const source = `s3://${BUCKET}/${PREFIX}`;
      const oursEnv = (tag: string): NodeJS.ProcessEnv => ({
        ...process.env,
        ...s3env,
        QUILT_REGISTRY: registry,
        QUILT_CACHE_DIR: join(scratch, `ours-cache-${tag}`),
        QUILT_STATE_DIR: join(scratch, `ours-state-${tag}`),
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      });
      const quilt = join(REPO_ROOT, "bin", "quilt.js");
      const cli = (argv: string[], env: NodeJS.ProcessEnv, cwd: string) =>
        measure(process.execPath, [quilt, ...argv], env, cwd);
      const q3home = (tag: string) => join(scratch, `quilt3-home-${tag}`);
      const q3 = (step: keyof typeof QUILT3_SCRIPTS, tag: string, extra: object) =>
        measure(
          join(VENV_BIN, "python"),
          ["-c", QUILT3_SCRIPTS[step]],
          quilt3Env(q3home(tag), s3env),
          scratch,
          JSON.stringify({ registry, source, name: NAME, ...extra }),
        );
      const lib = (step: keyof typeof LIBRARY_SCRIPTS, tag: string, extra: object) =>
        measure(
          process.execPath,
          ["--input-type=module", "-e", LIBRARY_SCRIPTS[step]],
          {
            ...oursEnv(tag),
            BENCH_JOB: JSON.stringify({
              dist: join(REPO_ROOT, "dist", "src", "index.js"),
              registry,
              source,
              name: NAME,
              ...extra,
            }),
          },
          scratch,
        );

      // Build and push v1 from the prefix: CLI, library, quilt3 (each lists every object).
      const work1 = join(scratch, "work1");
      await mkdir(work1);
      await cli(["init", NAME], oursEnv("cli"), work1);
      console.error("ours: quilt add ...");
      const add = await cli(["add", source, "."], oursEnv("cli"), work1);
      console.error(`  ${fmtSeconds(add.seconds)}; quilt push-manifest ...`);
      const push = await cli(["push-manifest", "-t", "v1"], oursEnv("cli"), work1);
      console.error(`  ${fmtSeconds(push.seconds)}; library ...`);
      const libBuild = await lib("build", "lib", { tag: "lib-v1" });
      console.error(`  ${fmtSeconds(libBuild.seconds)}; quilt3 set_dir + build ...`);
      const q3Build = await q3("build", "build", { name: "bench/scale3" });
      console.error(`  ${fmtSeconds(q3Build.seconds)}`);
      rows.push({
        step: `build + push the manifest of ${ENTRIES.toLocaleString("en-US")} S3 objects (CLI)`,
        ours: combine(add, push),
        oursHow: `\`quilt add ${source} .\` (${fmtSeconds(add.seconds)}, ${add.rssMiB.toFixed(0)} MiB) + \`quilt push-manifest -t v1\` (${fmtSeconds(push.seconds)}, ${push.rssMiB.toFixed(0)} MiB)`,
        quilt3: q3Build,
        quilt3How: "`Package().set_dir('/', prefix, unversioned=True)` + `build(name, registry)`",
      });
      rows.push({
        step: "the same with the library",
        ours: libBuild,
        oursHow: "`PackageBuilder.add(prefix, '')` + `pushManifest()`",
        quilt3: q3Build,
        quilt3How: "(same run as above)",
      });

      // v2: 1% of the objects get new content; built the same way (not a measured row).
      modifyObjects(dataDir, BUCKET, PREFIX, ENTRIES, CHANGE_EVERY);
      const work2 = join(scratch, "work2");
      await mkdir(work2);
      await cli(["init", NAME], oursEnv("cli"), work2);
      await cli(["add", source, "."], oursEnv("cli"), work2);
      await cli(["push-manifest", "-t", "v2"], oursEnv("cli"), work2);

      // Browse: load the manifest from the registry into an empty cache, then warm.
      console.error("browse, ls, diff ...");
      const browse = await lib("browse", "browse", { spec: `${NAME}:v1` });
      const q3Browse = await q3("browse", "browse", { spec: "v1" });
      rows.push({
        step: "browse v1 (manifest fetched into an empty cache)",
        ours: browse,
        oursHow: "`Package.browse` (library)",
        quilt3: q3Browse,
        quilt3How: "`Package.browse`",
      });
      const lsDir = await cli(["ls", `${NAME}:v1`, LS_DIR], oursEnv("browse"), scratch);
      const q3LsDir = await q3("ls", "browse", { spec: "v1", dir: LS_DIR });
      rows.push({
        step: `ls a directory of 1,000 entries (manifest cached)`,
        ours: lsDir,
        oursHow: `\`quilt ls ${NAME}:v1 ${LS_DIR}\``,
        quilt3: q3LsDir,
        quilt3How: "`browse` + `pkg[dir].keys()`",
      });
      const lsTop = await cli(["ls", `${NAME}:v1`], oursEnv("browse"), scratch);
      const q3LsTop = await q3("ls", "browse", { spec: "v1", dir: "" });
      rows.push({
        step: `ls the top (${Math.ceil(ENTRIES / 1000)} directories, manifest cached)`,
        ours: lsTop,
        oursHow: `\`quilt ls ${NAME}:v1\` (with each directory's file count and bytes)`,
        quilt3: q3LsTop,
        quilt3How: "`browse` + `pkg.keys()`",
      });
      const diff = await cli(["diff", `${NAME}:v1`, `${NAME}:v2`, "--json"], oursEnv("browse"), scratch);
      const q3Diff = await q3("diff", "browse", { a: "v1", b: "v2" });
      const ourCounts = JSON.parse(diff.stdout) as { modified: string[] };
      const theirs = JSON.parse(q3Diff.stdout.trim().split("\n").pop() ?? "{}") as { modified: number };
      if (ourCounts.modified.length !== theirs.modified)
        throw new Error(
          `diff disagrees: ours ${ourCounts.modified.length} modified, quilt3 ${theirs.modified}`,
        );
      rows.push({
        step: `diff v1 v2 (${ourCounts.modified.length.toLocaleString("en-US")} modified, v2's manifest fetched)`,
        ours: diff,
        oursHow: `\`quilt diff ${NAME}:v1 ${NAME}:v2 --json\``,
        quilt3: q3Diff,
        quilt3How: "`browse` both + `p1.diff(p2)`",
      });
    } finally {
      await server.stop();
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  for (const r of rows) console.error(formatRow(r));
  const minutes = (performance.now() - t0) / 60_000;
  const section = [
    START,
    "## Million-entry publish and browse (scripts/bench-scale-publish.ts)",
    "",
    `- Machine: ${machineLine()}; ${commitLine()}`,
    `- Date: ${today()}; load average at start ${load}, at end ${loadLine()} (a shared machine: other work ran beside this); one run of each; whole script ${minutes.toFixed(1)} min`,
    `- ${ENTRIES.toLocaleString("en-US")} empty objects under \`s3://${BUCKET}/${PREFIX}\` in s3rver 3.7.1 (file-backed, written straight into its directory layout, 1,000 per directory), so neither tool reads an object to hash it; for v2, 1 object in ${CHANGE_EVERY} gets distinct content (both tools GET and hash those). s3rver has no ListObjectVersions, so quilt3 lists with \`unversioned=True\` and our physical keys carry no versionId either`,
    "- Each cell: wall time from spawn to exit of a fresh process / its peak RSS (`/usr/bin/time` %M). Ratio = ours / quilt3 (goal ≤ 2×). Ours runs `bin/quilt.js` or the library from `dist/` under Node; quilt3 is the PyPI client in the project's venv. Nothing copies objects: our `push-manifest` and quilt3's `build` only write the manifest and the tag",
    "",
    "| step | ours: time / peak RSS | quilt3: time / peak RSS | time ratio | RSS ratio | ours | quilt3 |",
    "|---|---|---|---|---|---|---|",
    ...rows.map(formatRow),
    END,
  ].join("\n");
  console.log(section);
  if (!args["no-write"]) await writeSection(START, END, section);
}

await main();
