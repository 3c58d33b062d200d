// Benchmark (not a test) of sequential reads of one large file through a real `quilt mount`
// (issue 5's first benchmark; workload 1 of DESIGN.md's suite): cold (our cache empty),
// warm (in our disk cache, page cache dropped) and hot (re-read), next to a plain local
// copy of the same bytes (page cache dropped, and re-read) and `aws s3 cp s3://... -` as the
// cold baseline. Goals (DESIGN.md): cold ≥ 1.0× awscli, warm ≥ 0.7× a plain local file,
// hot ≥ 0.8× a plain local re-read. Prints a Markdown section and writes it into
// docs/BENCHMARKS.md between its markers.
//
//   npx tsx scripts/bench-mount.ts [--large-mib 1024] [--runs 3] [--no-build] [--no-write]
//
// Also from the environment: BENCH_LARGE_MIB, BENCH_RUNS. The server is s3rver (file-backed,
// efficient ranges) in its own process; the daemon runs from dist/ (built first unless
// --no-build) with its own QUILT_STATE_DIR and QUILT_CACHE_DIR; every read is `dd` in a child
// process. Dropping the page cache needs root; without it, "cold page cache" falls back to a
// fresh mount and the section says so. Before every cold read the server's object file is
// read once, so the server answers from memory as S3 would, never from this machine's disk.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { daemonNodeOptions } from "../src/daemon/lifecycle.js";
import {
  commitLine,
  dropPageCache,
  fmtRate,
  fmtSeconds,
  GiB,
  intOption,
  loadLine,
  machineLine,
  peakRssMiB,
  processCpuSeconds,
  pushPackage,
  MiB,
  REPO_ROOT,
  S3RVER_AWS_ENV,
  startS3rver,
  timeCommand,
  today,
  writeRandomFile,
  writeSection,
  type ServerHandle,
  QUILT_BIN,
} from "./bench-support.js";

const START = "<!-- bench-mount:start -->";
const END = "<!-- bench-mount:end -->";
const BUCKET = "bench";
const PACKAGE = "bench/mount";
const FILE = "large.bin";

const { values: args } = parseArgs({
  options: {
    "large-mib": { type: "string" },
    runs: { type: "string" },
    "no-build": { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
  },
});

const LARGE_MIB = intOption(args["large-mib"], "BENCH_LARGE_MIB", 1024);
const RUNS = intOption(args.runs, "BENCH_RUNS", 3);
const BYTES = LARGE_MIB * MiB;

type Kind = "local cold" | "local hot" | "awscli cold" | "mount cold" | "mount warm" | "mount hot";

interface Env {
  server: ServerHandle;
  scratch: string;
  local: string;
  mountpoint: string;
  /** s3rver's data directory: its object file is read before a cold read so the server serves from memory. */
  serverData: string;
  quiltEnv: NodeJS.ProcessEnv;
  awsEnv: NodeJS.ProcessEnv;
  aws: string | undefined;
  canDrop: boolean;
}

/** Seconds for `dd` to read `path` whole, in a child process (never in the process serving the mount). */
async function ddRead(path: string): Promise<number> {
  const r = await timeCommand("dd", [`if=${path}`, "of=/dev/null", "bs=1M"], { stdoutTo: "ignore" });
  return r.seconds;
}

function quilt(env: Env, argv: string[]): string {
  const r = spawnSync(process.execPath, [QUILT_BIN, ...argv], {
    env: env.quiltEnv,
    encoding: "utf8",
    timeout: 120_000,
  });
  if (r.status !== 0)
    throw new Error(`quilt ${argv.join(" ")} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function isMounted(path: string): boolean {
  const text = spawnSync("cat", ["/proc/self/mounts"], { encoding: "utf8" }).stdout ?? "";
  return text.split("\n").some((l) => l.split(" ")[1] === path);
}

/** A fresh daemon with an empty cache, mounting the package. */
async function mountFresh(env: Env): Promise<void> {
  await rm(join(env.scratch, "cache"), { recursive: true, force: true });
  await rm(join(env.scratch, "state"), { recursive: true, force: true });
  await mkdir(env.mountpoint, { recursive: true });
  quilt(env, ["mount", PACKAGE, env.mountpoint, "--registry", `s3://${BUCKET}`, "--cache-size", "4G"]);
}

/** Unmounts and stops the daemon; also when something failed half-way. Never throws. */
function teardown(env: Env): void {
  for (const argv of [
    ["unmount", env.mountpoint],
    ["daemon", "stop"],
  ]) {
    spawnSync(process.execPath, [QUILT_BIN, ...argv], {
      env: env.quiltEnv,
      stdio: "ignore",
      timeout: 60_000,
    });
  }
  if (isMounted(env.mountpoint)) {
    spawnSync("fusermount", ["-u", "-z", env.mountpoint], { stdio: "ignore" });
    spawnSync("umount", ["-l", env.mountpoint], { stdio: "ignore" });
  }
  // A daemon that did not answer the stop request: end it by its own pid file, nothing broader.
  const pidFile = join(env.scratch, "state", "daemon", "daemon.pid");
  const pid = existsSync(pidFile)
    ? Number(spawnSync("cat", [pidFile], { encoding: "utf8" }).stdout.trim())
    : NaN;
  if (Number.isSafeInteger(pid) && pid > 0) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** Server in memory (its object file read once), client side cold: what a cold read should see. */
function prepareCold(env: Env): void {
  if (env.canDrop) dropPageCache();
  for (const f of serverObjectFiles(env.serverData))
    spawnSync("cat", [f], { stdio: ["ignore", "ignore", "ignore"] });
}

function serverObjectFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.startsWith(FILE) && e.name.endsWith("_S3rver_object"))
      out.push(join(e.parentPath, e.name));
  }
  return out;
}

interface DaemonStats {
  cache?: { hits?: number; misses?: number; blocks?: number; blockSize?: number };
  requests?: { s3?: Record<string, number> };
}

function daemonStats(env: Env): DaemonStats {
  return JSON.parse(quilt(env, ["daemon", "status", "--json"])) as DaemonStats;
}

/** What the daemon did during one read: block reads answered from the cache, S3 requests, its CPU and peak RSS. */
interface ReadStats {
  cacheReads: number;
  s3: string;
  cpuSeconds?: number;
  peakRssMiB?: number;
}

function daemonPid(env: Env): number | undefined {
  try {
    const pid = Number(readFileSync(join(env.scratch, "state", "daemon", "daemon.pid"), "utf8").trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Resets the daemon's peak RSS (VmHWM), so each read reports its own peak (Linux, own or root's process). */
function resetPeakRss(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
  } catch {
    // not allowed: the peak then runs from the daemon's start
  }
}

/** Runs one timed read and measures the daemon around it. */
async function measured(
  env: Env,
  read: () => Promise<number>,
): Promise<{ seconds: number; stats: ReadStats }> {
  const pid = daemonPid(env);
  const before = daemonStats(env);
  resetPeakRss(pid);
  const cpu0 = processCpuSeconds(pid);
  const seconds = await read();
  const cpu1 = processCpuSeconds(pid);
  const peak = peakRssMiB(pid);
  const stats = statsDelta(before, daemonStats(env));
  if (cpu0 !== undefined && cpu1 !== undefined) stats.cpuSeconds = cpu1 - cpu0;
  if (peak !== undefined) stats.peakRssMiB = peak;
  return { seconds, stats };
}

function statsDelta(before: DaemonStats, after: DaemonStats): ReadStats {
  const hits = (s: DaemonStats) => (s.cache?.hits ?? 0) + (s.cache?.misses ?? 0);
  const s3 = Object.entries(after.requests?.s3 ?? {})
    .map(([k, v]) => [k, v - (before.requests?.s3?.[k] ?? 0)] as const)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  return { cacheReads: hits(after) - hits(before), s3: s3 || "none" };
}

async function round(
  env: Env,
  add: (k: Kind, s: number) => void,
  note: (k: Kind, r: ReadStats) => void,
): Promise<void> {
  // Plain local copy: cold page cache, then hot.
  if (env.canDrop) dropPageCache();
  add("local cold", await ddRead(env.local));
  await ddRead(env.local);
  add("local hot", await ddRead(env.local));

  if (env.aws) {
    prepareCold(env);
    const key = `${PACKAGE}/${FILE}`;
    const r = await timeCommand(
      "sh",
      [
        "-c",
        `"$1" s3 cp --endpoint-url "$2" "s3://${BUCKET}/${key}" - > /dev/null`,
        "aws",
        env.aws,
        env.server.endpoint,
      ],
      { env: env.awsEnv },
    );
    add("awscli cold", r.seconds);
  }

  const file = join(env.mountpoint, FILE);
  await mountFresh(env);
  prepareCold(env);
  const cold = await measured(env, () => ddRead(file));
  add("mount cold", cold.seconds);
  note("mount cold", cold.stats);
  if (env.canDrop) {
    dropPageCache();
  } else {
    // No way to drop the page cache: a new mount (same daemon, same disk cache) starts without one.
    quilt(env, ["unmount", env.mountpoint]);
    quilt(env, ["mount", PACKAGE, env.mountpoint, "--registry", `s3://${BUCKET}`]);
  }
  const warm = await measured(env, () => ddRead(file));
  add("mount warm", warm.seconds);
  note("mount warm", warm.stats);
  const hot = await measured(env, () => ddRead(file));
  add("mount hot", hot.seconds);
  note("mount hot", hot.stats);
  quilt(env, ["unmount", env.mountpoint]);
  quilt(env, ["daemon", "stop"]);
}

function findAws(): string | undefined {
  const r = spawnSync("sh", ["-c", "command -v aws"], { encoding: "utf8" });
  const path = r.stdout?.trim();
  if (!path) return undefined;
  return spawnSync(path, ["--version"], { encoding: "utf8" }).status === 0 ? path : undefined;
}

function awsVersion(aws: string): string {
  const r = spawnSync(aws, ["--version"], { encoding: "utf8" });
  return (r.stdout || r.stderr || "").trim().split(" ").slice(0, 2).join(" ");
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const load = loadLine();
  if (!args["no-build"]) {
    console.error("building dist/ (the daemon runs from it) ...");
    const b = spawnSync(
      process.execPath,
      [join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(REPO_ROOT, "tsconfig.json")],
      { stdio: "inherit" },
    );
    if (b.status !== 0) throw new Error("npx tsc -p tsconfig.json failed");
  }
  const scratch = await mkdtemp(join(tmpdir(), "quilt-bench-mount-"));
  const canDrop = dropPageCache();
  const samples = new Map<Kind, number[]>();
  const readStats = new Map<Kind, ReadStats>();
  const cpuSamples = new Map<Kind, number[]>();
  const rssSamples = new Map<Kind, number[]>();
  let env: Env | undefined;
  let server: ServerHandle | undefined;
  try {
    const serverData = join(scratch, "s3rver-data");
    server = await startS3rver(serverData, [BUCKET]);
    const local = join(scratch, "local", FILE);
    console.error(`writing ${LARGE_MIB} MiB to ${local} and pushing it to s3rver ...`);
    await writeRandomFile(local, BYTES);
    await pushPackage(scratch, server.endpoint, BUCKET, PACKAGE, join(scratch, "local"));
    const awsHome = join(scratch, "aws-home");
    await mkdir(awsHome, { recursive: true });
    env = {
      server,
      scratch,
      local,
      mountpoint: join(scratch, "mnt"),
      serverData,
      canDrop,
      aws: findAws(),
      quiltEnv: {
        ...process.env,
        ...S3RVER_AWS_ENV,
        AWS_ENDPOINT_URL: server.endpoint,
        QUILT_STATE_DIR: join(scratch, "state"),
        QUILT_CACHE_DIR: join(scratch, "cache"),
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      },
      awsEnv: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: awsHome, ...S3RVER_AWS_ENV },
    };
    for (let r = 0; r < RUNS; r++) {
      console.error(`round ${r + 1}/${RUNS} ...`);
      await round(
        env,
        (k, s) => {
          samples.set(k, [...(samples.get(k) ?? []), s]);
          console.error(`  ${k}: ${fmtSeconds(s)} (${fmtRate(BYTES, s)})`);
        },
        (k, r) => {
          readStats.set(k, r);
          cpuSamples.set(k, [...(cpuSamples.get(k) ?? []), r.cpuSeconds ?? NaN]);
          rssSamples.set(k, [...(rssSamples.get(k) ?? []), r.peakRssMiB ?? NaN]);
          console.error(
            `    daemon: ${r.cacheReads} block reads, S3: ${r.s3}, CPU ${r.cpuSeconds?.toFixed(2) ?? "?"} s, peak RSS ${r.peakRssMiB?.toFixed(0) ?? "?"} MiB`,
          );
        },
      );
    }
  } finally {
    if (env) teardown(env);
    await server?.stop();
    await rm(scratch, { recursive: true, force: true });
  }
  const minutes = (performance.now() - t0) / 60_000;
  const best = (k: Kind) => Math.min(...(samples.get(k) ?? [NaN]));
  const all = (k: Kind) => (samples.get(k) ?? []).map((s) => s.toFixed(2)).join(", ");
  const cell = (k: Kind) =>
    samples.has(k) ? `${fmtSeconds(best(k))} (${fmtRate(BYTES, best(k))}) [${all(k)}]` : "n/a";
  const median = (k: Kind) => {
    const xs = [...(samples.get(k) ?? [NaN])].sort((a, b) => a - b);
    const mid = Math.floor(xs.length / 2);
    return xs.length % 2 ? (xs[mid] as number) : ((xs[mid - 1] as number) + (xs[mid] as number)) / 2;
  };
  // Throughput ratios, ours / baseline. The verdict goes by the medians: the first cold read of
  // a freshly written local file was several times faster than the later ones on this VM.
  const medianRatio = (ours: Kind, base: Kind) => median(base) / median(ours);
  const ratio = (ours: Kind, base: Kind, goal: number) => {
    if (!samples.has(ours) || !samples.has(base)) return "n/a";
    const m = medianRatio(ours, base);
    return `median **${m.toFixed(2)}×**, best vs best ${(best(base) / best(ours)).toFixed(2)}× (goal ≥ ${goal.toFixed(1)}×: ${m >= goal ? "met" : "**missed**"})`;
  };
  /** Daemon CPU seconds per GiB read (median, every run) and its largest peak RSS. */
  const resources = (k: Kind) => {
    const perGiB = (cpuSamples.get(k) ?? []).filter((c) => !Number.isNaN(c)).map((c) => c / (BYTES / GiB));
    const rss = (rssSamples.get(k) ?? []).filter((r) => !Number.isNaN(r));
    if (perGiB.length === 0) return "n/a";
    const sorted = [...perGiB].sort((a, b) => a - b);
    const med =
      sorted.length % 2
        ? (sorted[(sorted.length - 1) / 2] as number)
        : ((sorted[sorted.length / 2 - 1] as number) + (sorted[sorted.length / 2] as number)) / 2;
    return `${med.toFixed(2)} [${perGiB.map((c) => c.toFixed(2)).join(", ")}] · ${rss.length ? `${Math.max(...rss).toFixed(0)} MiB` : "?"}`;
  };
  const aws = env?.aws;
  const goals: [Kind, Kind, number][] = [
    ["mount cold", "awscli cold", 1.0],
    ["mount warm", "local cold", 0.7],
    ["mount hot", "local hot", 0.8],
  ];
  const missed = goals
    .filter(([ours, base, goal]) => samples.has(ours) && samples.has(base) && medianRatio(ours, base) < goal)
    .map(([k]) => k);
  const hotReads = readStats.get("mount hot")?.cacheReads;
  const blocks = BYTES / MiB;
  const warmReads = readStats.get("mount warm")?.cacheReads;
  /** The kernel hands FUSE at most 128 KiB per read request here. */
  const requests = BYTES / (128 * 1024);
  const perRequestMs = samples.has("mount warm") ? ((best("mount warm") / requests) * 1000).toFixed(2) : "?";
  const analysis: [Kind, string][] = [
    [
      "mount cold",
      "- Cold: CPU, not waiting, is the limit on this 2-core machine. The daemon spends 8-10 CPU s per GiB (all its threads; column above) while s3rver spends ~2.6 s and `dd` and the kernel's FUSE and page-cache copies the rest of two cores; awscli needs ~3 CPU s for the same GiB. Profile of the daemon's JS thread over one cold read (`node --cpu-prof`, 2026-12-04, 8.5 s of wall time): busy 6.5 s, idle 2.0 s; garbage collection 1.7 s (about 180 mark-compacts per run, each started by external-memory pressure: every 64 MiB of Buffers allocated, whatever their lifetime, and a GiB arrives as 64 KiB socket chunks, is copied into 8 MiB parts and leaves through a fresh 128 KiB buffer per FUSE request, so ~3 GiB of Buffers per GiB read); SHA-256 0.65 s (one pass since 2026-12-04, two before: the chunk digests were hashed again beside the entry hash); CRC-32 of block files 0.57 s; the copy of socket chunks into parts 0.49 s; HTTP parsing and stream events ~0.7 s; block-file writes (open, writev, close, rename) ~0.6 s; the FUSE read path 0.34 s. What would close the gap: the per-byte work out of JavaScript, i.e. a native fetch-hash-write pipeline that reads the socket into pooled block buffers (a direct read into preallocated buffers measured 0.57 CPU s per GiB against 1.14 for node:http plus the copy, 2026-12-04) and no per-request Buffer for FUSE; JavaScript tuning is near its end here (--single-threaded-gc took 17% off this CPU on 2 cores).",
    ],
    [
      "mount cold",
      "- What verification costs on the cold read (docs/RELIABILITY.md): s3rver keeps no part checksums, so this 1 GiB object has no chunk digests and streams under its private source key, fed to a running SHA-256 as its blocks arrive, then moved to its content key by renaming its block files: one HEAD and the single SHA-256 pass above (0.65 s of CPU per GiB). With chunk digests (S3 part checksums, or after a first verification) each 8 MiB chunk is hashed before it is served, at the same cost; the warm read uses recorded digests without hashing again.",
    ],
    [
      "mount warm",
      warmReads !== undefined && warmReads >= 4 * blocks
        ? `- Warm: the cache answered ${warmReads} block reads for ${blocks} blocks: each 128 KiB request of the kernel re-reads and re-checks its whole 1 MiB block file, 8× the bytes read and checksummed, with a fresh 1 MiB buffer each time for the garbage collector.`
        : `- Warm: each block comes from the disk cache ${warmReads === undefined ? "?" : (warmReads / blocks).toFixed(1)} times on average (${warmReads ?? "?"} block reads for ${blocks} blocks; the next 4 cached blocks are loaded ahead of a sequential reader). The cost is per FUSE request: the kernel asks for 128 KiB at a time, ${requests} requests here, each handed from a libfuse thread to Node's event loop and back (the libfuse 2 binding alone answered at ~0.1 ms per request, ~1.1 GB/s, so no JavaScript server of 128 KiB requests reaches a plain local read's ${fmtRate(BYTES, best("local cold"))}): ${perRequestMs} ms per request here. Profile of one warm read (2026-12-04, 2.9 s): idle 0.9 s (waiting on the hop and the disk), garbage collection 0.57 s (a 1 MiB Buffer per block read and a 128 KiB one per request), CRC-32 of every block read 0.32 s, block-file reads ~0.3 s, the copy into the kernel's buffer 0.10 s. What would close it: larger requests (max_read above 128 KiB needs FUSE max_pages, which libfuse 3, the binding's library now, negotiates; not tried yet), or answering reads of verified cached blocks in the libfuse thread without the hop (a native addon holding open block files), or FUSE passthrough (the kernel here has it; libfuse 3.14 in Debian 12 lacks its API, which arrived with libfuse 3.17 (libfuse PR 919), and a passthrough file must hold exactly the file's bytes, so cached objects would need a plain-file layout beside the block files).`,
    ],
    [
      "mount hot",
      `- Hot: the daemon ${hotReads !== undefined && hotReads <= 16 ? `hardly takes part (${hotReads} block reads above)` : `still answered ${hotReads ?? "?"} block reads`}: the kernel serves the FUSE file from its page cache, so the gap to a plain ext4 re-read is the kernel's FUSE read path on this kernel rather than the daemon.`,
    ],
  ];
  const section = [
    START,
    "## Sequential read of one large file through `quilt mount` (scripts/bench-mount.ts)",
    "",
    `- Machine: ${machineLine()}`,
    `- Date: ${today()}; load average at start ${load}; one ${LARGE_MIB} MiB file of random bytes; ${RUNS} rounds, best shown with every run in brackets; whole script ${minutes.toFixed(1)} min`,
    `- Server: s3rver 3.7.1 (file-backed, in its own process, loopback; no versioning, so physical keys carry no versionId); before each cold read the server's object file is read once, so it serves from memory`,
    `- Mount: \`quilt mount\` (the daemon of ${commitLine()}, run with ${daemonNodeOptions().join(" ") || "no V8 options"} on this machine, from dist/, own QUILT_STATE_DIR and QUILT_CACHE_DIR, --cache-size 4G, cache emptied before each cold read); every read is \`dd if=FILE of=/dev/null bs=1M\` in a child process, timed from spawn to exit`,
    canDrop
      ? "- Page cache: dropped (`sync; echo 3 > /proc/sys/vm/drop_caches`) before every cold and warm read"
      : '- Page cache: could NOT be dropped (not root): local "cold" reads are really warm, and mount warm is a remount over the same disk cache',
    `- awscli: ${aws ? `\`aws s3 cp s3://${BUCKET}/... -\` to /dev/null (${awsVersion(aws)}), its own HOME` : "not found: no awscli baseline"}`,
    `- What the daemon did (its stats, last round): ${(["mount cold", "mount warm", "mount hot"] as const).map((k) => `${k.slice(6)}: ${readStats.get(k)?.cacheReads ?? "?"} block reads, S3 ${readStats.get(k)?.s3 ?? "?"}`).join("; ")} (the file is ${BYTES / MiB} blocks of 1 MiB)`,
    "",
    "| read | best time (MiB/s) [all runs, s] | throughput ratio vs baseline, judged on medians | daemon CPU s per GiB, median [runs] · peak RSS, max |",
    "|---|---|---|---|",
    `| plain local file, cold page cache | ${cell("local cold")} | baseline for warm | |`,
    `| plain local file, hot (re-read) | ${cell("local hot")} | baseline for hot | |`,
    `| awscli \`s3 cp ... -\`, cold | ${cell("awscli cold")} | baseline for cold | |`,
    `| mount, cold (empty cache) | ${cell("mount cold")} | vs awscli: ${ratio("mount cold", "awscli cold", 1.0)} | ${resources("mount cold")} |`,
    `| mount, warm (disk cache, page cache dropped) | ${cell("mount warm")} | vs local cold: ${ratio("mount warm", "local cold", 0.7)} | ${resources("mount warm")} |`,
    `| mount, hot (re-read) | ${cell("mount hot")} | vs local hot: ${ratio("mount hot", "local hot", 0.8)} | ${resources("mount hot")} |`,
    ...(missed.length
      ? [
          "",
          `Why ${missed.join(", ")} miss their goals (profiled by hand with \`node --cpu-prof\` on the daemon, this machine, 2026-12-04):`,
        ]
      : []),
    ...analysis.filter(([k]) => missed.includes(k)).map(([, text]) => text),
    END,
  ].join("\n");
  console.log(section);
  if (!args["no-write"]) await writeSection(START, END, section);
}

await main();
