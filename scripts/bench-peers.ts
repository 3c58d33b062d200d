// Benchmark (not a test) of `quilt mount` side by side with the tools people use instead,
// all reading the same objects of one package (pushed by our library) from ONE s3rver
// bucket on loopback, through one counting proxy (issue 11, part 1):
//   - quilt mount (our daemon from dist/, own QUILT_STATE_DIR and QUILT_CACHE_DIR)
//   - rclone mount --vfs-cache-mode full --read-only (Debian's rclone)
//   - s3fs with use_cache (Debian's s3fs)
//   - aws s3 cp / ls (whichever aws is first on PATH), where a workload has an equivalent
//   - a plain local copy of the same files (the baseline)
// Workloads: 1. sequential read of the large file (cold, warm, hot); 2. find + stat over the
// small-file tree (cold); 3. every small file read by 8 parallel readers (cold, warm);
// 4. 2,000 random 4 KiB reads in the large file (cold, with MiB fetched); 5. a PyTorch
// DataLoader (4 workers) over the small files (cold, warm). "Cold": the tool's caches emptied
// (ours: block cache and LMDB index; rclone: its vfs cache dir; s3fs: its use_cache dir),
// freshly mounted, page cache dropped. "Warm": the tool restarted over its full disk cache,
// page cache dropped. "Hot": read again. Medians of --runs runs, every run shown.
//
//   scripts/bench-peers.sh [options]       installs the peers, then runs this
//   npx tsx scripts/bench-peers.ts [--large-mib 1024] [--files 5000] [--runs 3]
//       [--only seq,stat,par,rand,loader] [--quilt-only] [--no-write] [--no-build]
//   (--quilt-only: only quilt mount and the local copy, for profiling our side between full runs)
//
// Missing peers are installed with apt-get (as root; a peer that will not install is
// skipped with a note). torch (for workload 5) and matplotlib (for the chart) go into a venv
// of the bench's own, .venv-bench (git-ignored). Writes its section of docs/BENCHMARKS.md
// and the chart docs/bench-peers.png (matplotlib, so no npm dependency for one picture);
// --no-write only prints the section and leaves the chart in the temp directory.
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import {
  dropPageCache,
  intOption,
  loadLine,
  MiB,
  pushPackage,
  REPO_ROOT,
  S3RVER_AWS_ENV,
  startS3rver,
  today,
  writeSection,
  type ServerHandle,
} from "./bench-support.js";
import { LARGE, markerPrefixes, putMarkers, sameStart, writeDataset } from "./bench-peers-data.js";
import { mountTools, type MountTool } from "./bench-peers-mounts.js";
import { startCountingProxy, type CountingProxy } from "./bench-peers-proxy.js";
import { benchPython, installPeers, peerVersions } from "./bench-peers-setup.js";
import { runWorkload, WORKLOAD_PHASES, type RunContext, type WorkloadId } from "./bench-peers-workloads.js";
import { chartData, type Results } from "./bench-peers-report.js";
import { section } from "./bench-peers-section.js";

const START = "<!-- bench-peers:start -->";
const END = "<!-- bench-peers:end -->";
const BUCKET = "bench";
const PACKAGE = "bench/peers";
const FILE_BYTES = 100 * 1024;
const CHART = join(REPO_ROOT, "docs", "bench-peers.png");
const ALL_WORKLOADS: WorkloadId[] = ["seq", "stat", "par", "rand", "loader"];

const { values: args } = parseArgs({
  options: {
    "large-mib": { type: "string" },
    files: { type: "string" },
    runs: { type: "string" },
    only: { type: "string" },
    "quilt-only": { type: "boolean", default: false },
    "no-build": { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
  },
});

const LARGE_MIB = intOption(args["large-mib"], "BENCH_LARGE_MIB", 1024);
const FILES = intOption(args.files, "BENCH_FILES", 5000);
const RUNS = intOption(args.runs, "BENCH_RUNS", 3);

/** --only takes workload names or their numbers 1-5, comma-separated. */
function selectedWorkloads(): WorkloadId[] {
  if (!args.only) return ALL_WORKLOADS;
  return args.only.split(",").map((w) => {
    const t = w.trim();
    const id = /^[1-5]$/.test(t) ? ALL_WORKLOADS[Number(t) - 1] : (t as WorkloadId);
    if (!id || !ALL_WORKLOADS.includes(id))
      throw new Error(`--only: unknown workload ${t} (one of ${ALL_WORKLOADS.join(", ")} or 1-5)`);
    return id;
  });
}

/** Each mount must show the whole tree and the same bytes as the local copy before it is timed. */
async function verify(
  tool: MountTool,
  local: string,
  files: number,
  sample: string,
): Promise<string | undefined> {
  try {
    await tool.mountCold();
    const r = spawnSync("sh", ["-c", 'find "$1" -type f | wc -l', "sh", join(tool.mountpoint, "small")], {
      encoding: "utf8",
      timeout: 300_000,
    });
    const seen = Number(r.stdout.trim());
    if (seen !== files) return `lists ${seen} of ${files} small files`;
    for (const rel of [LARGE, sample]) {
      if (!(await sameStart(join(tool.mountpoint, rel), join(local, rel), 4 * MiB)))
        return `${rel} differs from the local copy`;
    }
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message.split("\n")[0] : String(err);
  } finally {
    await tool.unmount();
  }
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const loadStart = loadLine();
  const workloads = selectedWorkloads();
  const notes = installPeers();
  const versions = peerVersions();
  const py = benchPython(workloads.includes("loader"));
  notes.push(...py.notes);
  if (!args["no-build"]) {
    console.error("building dist/ (the daemon runs from it) ...");
    const b = spawnSync(
      process.execPath,
      [join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(REPO_ROOT, "tsconfig.json")],
      { stdio: "inherit" },
    );
    if (b.status !== 0) throw new Error("npx tsc -p tsconfig.json failed");
  }
  if (!dropPageCache())
    notes.push("could not drop the page cache (not root): cold and warm reads may be served from memory");
  const scratch = await mkdtemp(join(tmpdir(), "quilt-bench-peers-"));
  const results: Results = new Map();
  let server: ServerHandle | undefined;
  let proxy: CountingProxy | undefined;
  let tools: MountTool[] = [];
  let chartFile: string | undefined;
  try {
    const serverData = join(scratch, "s3rver-data");
    server = await startS3rver(serverData, [BUCKET]);
    console.error(
      `writing ${LARGE_MIB} MiB + ${FILES} × ${FILE_BYTES / 1024} KiB and pushing them to s3rver ...`,
    );
    const data = await writeDataset(scratch, LARGE_MIB * MiB, FILES, FILE_BYTES);
    await pushPackage(scratch, server.endpoint, BUCKET, PACKAGE, data.local);
    const markers = markerPrefixes([LARGE, ...data.smallFiles].map((k) => `${PACKAGE}/${k}`));
    await putMarkers(server.endpoint, BUCKET, markers);
    proxy = await startCountingProxy(server.endpoint);
    tools = mountTools(
      { scratch, endpoint: proxy.endpoint, bucket: BUCKET, prefix: PACKAGE, packageName: PACKAGE },
      {
        rclone: !args["quilt-only"] && versions.rclone !== undefined,
        s3fs: !args["quilt-only"] && versions.s3fs !== undefined,
      },
    );
    for (const t of [...tools]) {
      const problem = await verify(t, data.local, FILES, data.smallFiles[FILES - 1] as string);
      if (problem) {
        notes.push(`${t.name} skipped: ${problem}`);
        tools = tools.filter((x) => x !== t);
      }
    }
    const awsHome = join(scratch, "aws-home");
    await mkdir(awsHome, { recursive: true });
    const ctx: RunContext = {
      tools,
      data,
      serverData,
      bucket: BUCKET,
      prefix: PACKAGE,
      proxy,
      scratch,
      ...(versions.aws &&
        !args["quilt-only"] && {
          aws: {
            path: versions.aws.path,
            env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: awsHome, ...S3RVER_AWS_ENV },
          },
        }),
      python: py.python,
      torch: py.torch !== undefined,
      record(phase, tool, s) {
        const m = results.get(phase) ?? new Map();
        results.set(phase, m);
        m.set(tool, [...(m.get(tool) ?? []), s]);
        const what = s.rate !== undefined ? `${s.rate.toFixed(0)} samples/s` : `${s.seconds.toFixed(2)} s`;
        console.error(
          `  ${phase} ${tool}: ${what}, fetched ${(s.fetchedBytes / MiB).toFixed(1)} MiB${s.cpu !== undefined ? `, CPU ${s.cpu.toFixed(2)} s, RSS ${s.rssMiB?.toFixed(0)} MiB` : ""}`,
        );
      },
      note: (text) => notes.push(text),
    };
    for (const w of workloads) {
      if (w === "loader" && !ctx.torch) continue;
      for (let r = 0; r < RUNS; r++) {
        console.error(
          `${w} run ${r + 1}/${RUNS} (${((performance.now() - t0) / 60_000).toFixed(1)} min in) ...`,
        );
        await runWorkload(ctx, w, r);
      }
    }
    const ran = workloads.filter((w) => WORKLOAD_PHASES[w].some((p) => results.has(`${w} ${p}`)));
    if (py.matplotlib && results.size > 0) {
      const json = join(scratch, "chart.json");
      await writeFile(
        json,
        JSON.stringify(
          chartData(
            results,
            ran,
            `quilt mount vs others, ${LARGE_MIB} MiB file, ${FILES} × 100 KiB files (medians of ${RUNS})`,
          ),
        ),
      );
      chartFile = args["no-write"] ? join(tmpdir(), "bench-peers.png") : CHART;
      const c = spawnSync(
        py.python,
        [join(REPO_ROOT, "scripts", "bench-peers-readers.py"), "chart", json, chartFile],
        { stdio: ["ignore", "ignore", "inherit"] },
      );
      if (c.status !== 0) {
        notes.push("the chart could not be drawn");
        chartFile = undefined;
      }
    }
  } finally {
    for (const t of tools) await t.unmount();
    await proxy?.close();
    await server?.stop();
    await rm(scratch, { recursive: true, force: true });
  }
  const text = section({
    start: START,
    end: END,
    results,
    workloads,
    versions,
    torch: py.torch,
    notes,
    largeMiB: LARGE_MIB,
    files: FILES,
    runs: RUNS,
    loadStart,
    loadEnd: loadLine(),
    minutes: (performance.now() - t0) / 60_000,
    date: today(),
    chart: chartFile && !args["no-write"] ? "bench-peers.png" : undefined,
    tools: tools.map((t) => t.name),
  });
  console.log(text);
  if (chartFile) console.error(`chart: ${chartFile}`);
  if (!args["no-write"]) await writeSection(START, END, text);
}

await main();
