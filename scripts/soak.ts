// Soak run (not a test; never part of the vitest suite) for issue 11, "Memory and CPU under
// the numbers": the benchmarks measure speed, this shows that the mount daemon's memory and
// open files stay flat under sustained load instead of growing with every read. It mounts a
// package larger than the cache (so eviction runs the whole time), keeps N readers busy for
// M minutes, samples the daemon from /proc every 10 s, and judges whether RSS and the fd
// count stayed flat. Exits 1 when they did not, when any read failed, or the daemon died.
//
//   npx tsx scripts/soak.ts [--minutes 10] [--readers 32] [--large-files 4] [--large-mib 256]
//                           [--small-files 2000] [--small-kib 100] [--cache-mib 512]
//                           [--no-build] [--no-write]
//
// Also from the environment: SOAK_MINUTES, SOAK_READERS, SOAK_LARGE_FILES, SOAK_LARGE_MIB,
// SOAK_SMALL_FILES, SOAK_SMALL_KIB, SOAK_CACHE_MIB. Set up like scripts/bench-mount.ts:
// s3rver in its own process, the package pushed with our library, `quilt mount` with
// the daemon from dist/ (built first unless --no-build) and its own QUILT_STATE_DIR and
// QUILT_CACHE_DIR. Readers are child processes, never code in this process: `dd` reading a
// large file sequentially from a random offset, `cat` of random small files, and a Python
// loop of random 4 KiB preads. Writes its Markdown section into docs/BENCHMARKS.md between
// the soak markers unless --no-write.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { DaemonClient } from "../src/daemon/client.js";
import {
  intOption,
  loadLine,
  machineLine,
  MiB,
  processCpuSeconds,
  pushPackage,
  REPO_ROOT,
  S3RVER_AWS_ENV,
  startS3rver,
  today,
  writeRandomFile,
  writeSection,
  writeSmallFiles,
  type ServerHandle,
  QUILT_BIN,
} from "./bench-support.js";

const START = "<!-- soak:start -->";
const END = "<!-- soak:end -->";
const BUCKET = "soak";
const PACKAGE = "soak/mount";
/** The project's venv starts in a fraction of the time of a pyenv shim; any python3 will do. */
const VENV_PYTHON = join(REPO_ROOT, ".venv", "bin", "python");
const PYTHON = existsSync(VENV_PYTHON) ? VENV_PYTHON : "python3";

const SAMPLE_SECONDS = 10;
/** Growth of the max RSS from the first half to the second that still counts as flat: the larger of the two. */
const RSS_SLACK_RATIO = 0.15;
const RSS_SLACK_BYTES = 32 * MiB;
/** Descriptors come and go with reads in flight; more than this above the first half's max is a leak. */
const FD_SLACK = 16;
/** A reader that takes this long is hung, which is a failure of the soak, not a slow read. */
const READER_TIMEOUT_MS = 120_000;

// What each reader run reads: enough per child that process start-up does not dominate.
const DD_MIB = 32;
const CAT_FILES = 16;
const PREAD_COUNT = 512;
const PREAD_SMALL_FILES = 8;

const { values: args } = parseArgs({
  options: {
    minutes: { type: "string" },
    readers: { type: "string" },
    "large-files": { type: "string" },
    "large-mib": { type: "string" },
    "small-files": { type: "string" },
    "small-kib": { type: "string" },
    "cache-mib": { type: "string" },
    "no-build": { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
  },
});

const MINUTES = intOption(args.minutes, "SOAK_MINUTES", 10);
const READERS = intOption(args.readers, "SOAK_READERS", 32);
const LARGE_FILES = intOption(args["large-files"], "SOAK_LARGE_FILES", 4);
const LARGE_MIB = intOption(args["large-mib"], "SOAK_LARGE_MIB", 256);
const SMALL_FILES = intOption(args["small-files"], "SOAK_SMALL_FILES", 2000);
const SMALL_KIB = intOption(args["small-kib"], "SOAK_SMALL_KIB", 100);
const CACHE_MIB = intOption(args["cache-mib"], "SOAK_CACHE_MIB", 512);
if (LARGE_MIB < DD_MIB) throw new Error(`--large-mib must be at least ${DD_MIB} (one dd read)`);
const LARGE_BYTES = LARGE_MIB * MiB;
const SMALL_BYTES = SMALL_KIB * 1024;
const DATASET_BYTES = LARGE_FILES * LARGE_BYTES + SMALL_FILES * SMALL_BYTES;
const DURATION_S = MINUTES * 60;
/** Start-up (cache filling, JIT, pools growing) is not held against the daemon. */
const WARMUP_S = Math.min(60, DURATION_S * 0.2);

type Kind = "dd" | "cat" | "pread";
/** The mix: one in three readers of each kind, dd first so that a single reader still reads large files. */
const KINDS: Kind[] = ["dd", "cat", "pread"];

// Random preads through O_DIRECT (an mmap'd buffer is page-aligned), so they reach the daemon
// instead of the page cache; prints one JSON line, the caller judges short reads.
const PREAD_PY = `
import json, mmap, os, random, sys
direct = sys.argv[1] == "1"
count = int(sys.argv[2])
flags = os.O_RDONLY | (os.O_DIRECT if direct else 0)
files = []
for p in sys.argv[3:]:
    fd = os.open(p, flags)
    files.append((fd, os.fstat(fd).st_size))
buf = mmap.mmap(-1, 4096)
got = short = 0
for _ in range(count):
    fd, size = random.choice(files)
    off = random.randrange(max(1, size // 4096)) * 4096
    n = os.preadv(fd, [buf], off)
    got += n
    if n != min(4096, size - off):
        short += 1
for fd, _ in files:
    os.close(fd)
print(json.dumps({"bytes": got, "short": short}))
`;

interface KindStats {
  runs: number;
  failures: number;
  bytes: number;
}

interface Sample {
  /** Seconds since the readers started; the labelled samples are the baseline (0) and those after the deadline. */
  t: number;
  label?: string;
  rss: number;
  hwm: number;
  rssAnon: number;
  rssFile: number;
  fds: number;
  threads: number;
  cpu: number;
  readerBytes: number;
  runs: number;
  failures: number;
  cacheBytes?: number;
  evictions?: number;
  fetches?: number;
}

/** What cleanup needs; filled in as the script gets that far. */
const state: {
  scratch?: string;
  server?: ServerHandle;
  mountpoint?: string;
  quiltEnv?: NodeJS.ProcessEnv;
  readers: Set<ChildProcess>;
  stopping: boolean;
} = { readers: new Set(), stopping: false };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

function isMounted(path: string): boolean {
  return readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .some((l) => l.split(" ")[1] === path);
}

function quilt(argv: string[], env: NodeJS.ProcessEnv): string {
  const r = spawnSync(process.execPath, [QUILT_BIN, ...argv], { env, encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0)
    throw new Error(`quilt ${argv.join(" ")} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function daemonPid(scratch: string): number | undefined {
  const file = join(scratch, "state", "daemon", "daemon.pid");
  const n = existsSync(file) ? Number(readFileSync(file, "utf8").trim()) : NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

let cleaning: Promise<void> | undefined;
/** Interrupted: whatever main() throws while its mount disappears under it is not worth printing. */
let signaled = false;

/** Stops readers, unmounts, stops the daemon and s3rver, removes the scratch directory. Idempotent; never throws. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    state.stopping = true;
    for (const c of state.readers) c.kill("SIGKILL");
    const { scratch, mountpoint, quiltEnv } = state;
    if (scratch && mountpoint && quiltEnv) {
      const pid = daemonPid(scratch);
      for (const argv of [
        ["unmount", "--force", mountpoint],
        ["daemon", "stop"],
      ]) {
        spawnSync(process.execPath, [QUILT_BIN, ...argv], {
          env: quiltEnv,
          stdio: "ignore",
          timeout: 60_000,
        });
      }
      if (isMounted(mountpoint)) spawnSync("fusermount", ["-u", "-z", mountpoint], { stdio: "ignore" });
      if (isMounted(mountpoint)) spawnSync("umount", ["-l", mountpoint], { stdio: "ignore" });
      // A daemon that did not answer the stop request: end it by its own pid, nothing broader.
      if (pid !== undefined && existsSync(`/proc/${pid}`)) {
        await sleep(500);
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
    await state.server?.stop().catch(() => undefined);
    if (scratch)
      await rm(scratch, { recursive: true, force: true }).catch((err: Error) =>
        console.error(`could not remove ${scratch}: ${err.message}`),
      );
  })();
  return cleaning;
}

// Ctrl-C reaches this process more than once (from the terminal's process group, and relayed
// by npx and tsx), and a signal nobody listens for any more would end it mid-cleanup: the
// handler stays installed and acts on the first signal only.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (cleaning) return;
    signaled = true;
    console.error(`\n${signal}: stopping readers and cleaning up ...`);
    void cleanup().finally(() => process.exit(130));
  });
}

/** VmRSS, VmHWM, RssAnon, RssFile (bytes) and Threads from /proc/PID/status; undefined once the process is gone. */
function procStatus(
  pid: number,
): { rss: number; hwm: number; rssAnon: number; rssFile: number; threads: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? NaN);
  return {
    rss: field("VmRSS") * 1024,
    hwm: field("VmHWM") * 1024,
    rssAnon: field("RssAnon") * 1024,
    rssFile: field("RssFile") * 1024,
    threads: field("Threads"),
  };
}

function fdTargets(pid: number): string[] {
  const dir = `/proc/${pid}/fd`;
  const out: string[] = [];
  for (const fd of readdirSync(dir)) {
    try {
      out.push(readlinkSync(join(dir, fd)));
    } catch {
      // closed between the listing and the readlink
    }
  }
  return out;
}

/** What the daemon's descriptors point at, to tell a leak of block files from sockets or pipes. */
function fdBreakdown(pid: number, scratch: string): string {
  let targets: string[];
  try {
    targets = fdTargets(pid);
  } catch {
    return "?";
  }
  const counts = new Map<string, number>();
  const cache = join(scratch, "cache");
  const stateDir = join(scratch, "state");
  for (const t of targets) {
    const kind = t.endsWith(" (deleted)")
      ? "deleted files"
      : t.startsWith("socket:")
        ? "sockets"
        : t.startsWith("pipe:")
          ? "pipes"
          : t.startsWith("anon_inode:")
            ? t.slice("anon_inode:".length).replace(/^\[|\]$/g, "")
            : t === "/dev/fuse"
              ? "/dev/fuse"
              : t.startsWith(cache + "/")
                ? "cache files"
                : t.startsWith(stateDir + "/")
                  ? "state files (index, log)"
                  : "other";
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");
}

interface Load {
  stats: Record<Kind, KindStats>;
  /** The first few failures, verbatim, for the report. */
  errors: string[];
}

function totals(load: Load): { bytes: number; runs: number; failures: number } {
  const all = Object.values(load.stats);
  return {
    bytes: all.reduce((s, k) => s + k.bytes, 0),
    runs: all.reduce((s, k) => s + k.runs, 0),
    failures: all.reduce((s, k) => s + k.failures, 0),
  };
}

async function sample(
  pid: number,
  socket: string,
  t: number,
  load: Load,
  label?: string,
): Promise<Sample | undefined> {
  const status = procStatus(pid);
  const cpu = processCpuSeconds(pid);
  let fds: number;
  try {
    fds = readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
  if (!status || cpu === undefined) return undefined;
  const stats = await new DaemonClient(socket)
    .request("stats", {}, { timeoutMs: 5000 })
    .catch(() => undefined);
  const tot = totals(load);
  return {
    t,
    ...(label !== undefined && { label }),
    ...status,
    fds,
    cpu,
    readerBytes: tot.bytes,
    runs: tot.runs,
    failures: tot.failures,
    ...(stats && {
      cacheBytes: stats.cache.bytes,
      evictions: stats.cache.evictions,
      fetches: stats.cache.fetchRequests,
    }),
  };
}

interface Run {
  cmd: string;
  argv: string[];
  expected: number;
  /** Bytes read, from the child's output; undefined when the output does not say. */
  bytesOf(stdout: string, stderr: string, streamed: number): number | undefined;
  /** Short reads the child itself counted. */
  shortOf?(stdout: string): number;
}

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)] as T;

function nextRun(kind: Kind, files: { large: string[]; small: string[] }, direct: boolean): Run {
  if (kind === "dd") {
    const skip = Math.floor(Math.random() * (LARGE_MIB - DD_MIB + 1));
    const argv = [
      `if=${pick(files.large)}`,
      "of=/dev/null",
      "bs=1M",
      `skip=${skip}`,
      `count=${DD_MIB}`,
      ...(direct ? ["iflag=direct"] : []),
    ];
    return {
      cmd: "dd",
      argv,
      expected: DD_MIB * MiB,
      bytesOf: (_o, e) => {
        const m = /^(\d+) bytes/m.exec(e);
        return m ? Number(m[1]) : undefined;
      },
    };
  }
  if (kind === "cat") {
    const argv = Array.from({ length: CAT_FILES }, () => pick(files.small));
    return { cmd: "cat", argv, expected: CAT_FILES * SMALL_BYTES, bytesOf: (_o, _e, streamed) => streamed };
  }
  const small = Array.from({ length: PREAD_SMALL_FILES }, () => pick(files.small));
  return {
    cmd: PYTHON,
    argv: ["-c", PREAD_PY, direct ? "1" : "0", String(PREAD_COUNT), ...files.large, ...small],
    expected: PREAD_COUNT * 4096,
    bytesOf: (o) => (JSON.parse(o.trim().split("\n").pop() ?? "{}") as { bytes?: number }).bytes,
    shortOf: (o) => (JSON.parse(o.trim().split("\n").pop() ?? "{}") as { short?: number }).short ?? 0,
  };
}

/** One child to completion: how many bytes it read, or why it failed. */
function runReader(run: Run): Promise<{ bytes: number; error?: string }> {
  return new Promise((resolve) => {
    // cat's output is counted here rather than trusted to a report of its own.
    const proc = spawn(run.cmd, run.argv, { stdio: ["ignore", "pipe", "pipe"] });
    state.readers.add(proc);
    let stdout = "";
    let stderr = "";
    let streamed = 0;
    const countOnly = run.cmd === "cat";
    proc.stdout.on("data", (d: Buffer) => {
      streamed += d.length;
      if (!countOnly) stdout += d.toString();
    });
    proc.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const timer = setTimeout(() => proc.kill("SIGKILL"), READER_TIMEOUT_MS);
    const what =
      `${run.cmd === PYTHON ? "pread" : run.cmd} ${run.cmd === PYTHON ? "" : run.argv.slice(0, 3).join(" ")}`.trim();
    proc.once("error", (err) => {
      clearTimeout(timer);
      state.readers.delete(proc);
      resolve({ bytes: 0, error: `${what}: ${err.message}` });
    });
    proc.once("close", (code, signal) => {
      clearTimeout(timer);
      state.readers.delete(proc);
      let bytes: number | undefined;
      let short = 0;
      try {
        bytes = run.bytesOf(stdout, stderr, streamed);
        short = run.shortOf?.(stdout) ?? 0;
      } catch {
        bytes = undefined;
      }
      const got = bytes ?? 0;
      if (code !== 0)
        resolve({
          bytes: got,
          error: `${what}: exited with ${code ?? signal}${signal === "SIGKILL" && !state.stopping ? ` (hung over ${READER_TIMEOUT_MS / 1000} s)` : ""}: ${stderr.trim().split("\n").slice(-2).join(" / ")}`,
        });
      else if (bytes === undefined)
        resolve({
          bytes: 0,
          error: `${what}: could not tell how many bytes it read: ${stderr.trim().slice(-200)}`,
        });
      else if (short > 0) resolve({ bytes: got, error: `${what}: ${short} short preads of ${PREAD_COUNT}` });
      else if (got !== run.expected)
        resolve({ bytes: got, error: `${what}: short read, ${got} of ${run.expected} bytes` });
      else resolve({ bytes: got });
    });
  });
}

/** One reader slot: child after child until the deadline. */
async function readerLoop(
  kind: Kind,
  files: { large: string[]; small: string[] },
  direct: boolean,
  deadline: number,
  load: Load,
): Promise<void> {
  const s = load.stats[kind];
  while (!state.stopping && performance.now() < deadline) {
    const r = await runReader(nextRun(kind, files, direct));
    if (state.stopping) return;
    s.runs++;
    s.bytes += r.bytes;
    if (r.error !== undefined) {
      s.failures++;
      if (load.errors.length < 10) load.errors.push(r.error);
      if (s.failures <= 3) console.error(`  reader failure: ${r.error}`);
    }
  }
}

/** Whether the mount serves O_DIRECT reads: then dd and the preads bypass the page cache and every read reaches the daemon. */
function directWorks(file: string): boolean {
  const r = spawnSync("dd", [`if=${file}`, "of=/dev/null", "bs=4096", "count=1", "iflag=direct"], {
    stdio: "ignore",
    timeout: 60_000,
  });
  return r.status === 0;
}

const mib = (b: number | undefined) => (b === undefined ? "?" : (b / MiB).toFixed(0));

interface Verdict {
  ok: boolean;
  lines: string[];
}

function judge(samples: Sample[], load: Load, daemonDied: boolean): Verdict {
  const mid = DURATION_S / 2;
  const first = samples.filter((s) => s.label === undefined && s.t > WARMUP_S && s.t <= mid);
  const second = samples.filter((s) => s.label === undefined && s.t > mid && s.t <= DURATION_S + 1);
  const lines: string[] = [];
  let ok = true;
  if (daemonDied) {
    ok = false;
    lines.push("- Daemon: **died** during the soak");
  }
  if (first.length === 0 || second.length === 0) {
    ok = false;
    lines.push(
      `- Too few samples to judge (${first.length} in the first half after ${WARMUP_S} s of warm-up, ${second.length} in the second)`,
    );
  } else {
    const max = (xs: Sample[], f: (s: Sample) => number) => Math.max(...xs.map(f));
    const r1 = max(first, (s) => s.rss);
    const r2 = max(second, (s) => s.rss);
    const allowed = r1 + Math.max(r1 * RSS_SLACK_RATIO, RSS_SLACK_BYTES);
    const rssFlat = r2 <= allowed;
    lines.push(
      `- RSS: max ${mib(r1)} MiB in the first half (after ${WARMUP_S} s of warm-up), ${mib(r2)} MiB in the second (${r2 >= r1 ? "+" : ""}${(((r2 - r1) / r1) * 100).toFixed(1)}%; flat up to ${mib(allowed)} MiB, i.e. +${RSS_SLACK_RATIO * 100}% or +${RSS_SLACK_BYTES / MiB} MiB): ${rssFlat ? "**flat**" : "**grew**"}`,
    );
    const f1 = max(first, (s) => s.fds);
    const f2 = max(second, (s) => s.fds);
    const fdFlat = f2 <= f1 + FD_SLACK;
    lines.push(
      `- Open files: max ${f1} in the first half, ${f2} in the second (flat up to ${f1 + FD_SLACK}): ${fdFlat ? "**flat**" : "**grew**"}`,
    );
    const t1 = max(first, (s) => s.threads);
    const t2 = max(second, (s) => s.threads);
    lines.push(`- Threads (not judged): max ${t1} in the first half, ${t2} in the second`);
    ok &&= rssFlat && fdFlat;
  }
  const tot = totals(load);
  if (tot.failures > 0) {
    ok = false;
    lines.push(
      `- Readers: **${tot.failures} failed runs** of ${tot.runs}: ${load.errors.slice(0, 3).join("; ")}`,
    );
  } else {
    lines.push(`- Readers: ${tot.runs} runs, none failed`);
  }
  lines.unshift(`Verdict: **${ok ? "flat, no failures" : "FAILED"}**`, "");
  return { ok, lines };
}

function table(samples: Sample[]): string[] {
  // A row a minute keeps a 10-minute soak to a screenful; short runs show every sample.
  const every = DURATION_S >= 180 ? Math.round(60 / SAMPLE_SECONDS) : 1;
  const rows = [
    "| t | VmRSS MiB (anon / file) | VmHWM MiB | fds | threads | daemon CPU s (% of a core since the previous row) | readers read MiB (MiB/s) | reader runs (failed) | cache MiB, evictions, GETs |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  let prev: Sample | undefined;
  samples.forEach((s, i) => {
    const tick = Math.round(s.t / SAMPLE_SECONDS);
    const shown =
      s.label !== undefined ||
      i === samples.length - 1 ||
      (s.t > 0 && tick % every === 0) ||
      s.t >= DURATION_S - 0.5;
    if (!shown) return;
    const dt = prev ? s.t - prev.t : 0;
    const cpuPct = prev && dt > 0 ? `${(((s.cpu - prev.cpu) / dt) * 100).toFixed(0)}%` : "";
    const rate =
      prev && dt > 0 && !s.label?.startsWith("idle")
        ? ` (${((s.readerBytes - prev.readerBytes) / MiB / dt).toFixed(0)})`
        : "";
    const when = s.label ?? `${Math.floor(s.t / 60)}:${String(Math.round(s.t % 60)).padStart(2, "0")}`;
    rows.push(
      `| ${when} | ${mib(s.rss)} (${mib(s.rssAnon)} / ${mib(s.rssFile)}) | ${mib(s.hwm)} | ${s.fds} | ${s.threads} | ${s.cpu.toFixed(1)}${cpuPct && ` (${cpuPct})`} | ${mib(s.readerBytes)}${rate} | ${s.runs} (${s.failures}) | ${mib(s.cacheBytes)}, ${s.evictions ?? "?"}, ${s.fetches ?? "?"} |`,
    );
    prev = s;
  });
  return rows;
}

function fmtSample(s: Sample): string {
  return `RSS ${mib(s.rss)} MiB (anon ${mib(s.rssAnon)}, file ${mib(s.rssFile)}), HWM ${mib(s.hwm)} MiB, fds ${s.fds}, threads ${s.threads}, CPU ${s.cpu.toFixed(1)} s, readers ${mib(s.readerBytes)} MiB in ${s.runs} runs (${s.failures} failed), cache ${mib(s.cacheBytes)} MiB, evictions ${s.evictions ?? "?"}`;
}

async function main(): Promise<number> {
  const t0 = performance.now();
  const loadAtStart = loadLine();
  if (!args["no-build"]) {
    console.error("building dist/ (the daemon runs from it) ...");
    const b = spawnSync(
      process.execPath,
      [join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(REPO_ROOT, "tsconfig.json")],
      { stdio: "inherit" },
    );
    if (b.status !== 0) throw new Error("npx tsc -p tsconfig.json failed");
  }
  if (CACHE_MIB * MiB >= DATASET_BYTES)
    console.error(
      `warning: the cache (${CACHE_MIB} MiB) holds the whole dataset (${mib(DATASET_BYTES)} MiB): eviction will not run`,
    );
  const scratch = await mkdtemp(join(tmpdir(), "quilt-soak-"));
  state.scratch = scratch;
  const local = join(scratch, "local");
  const largeNames = Array.from({ length: LARGE_FILES }, (_, i) => join("large", `large-${i}.bin`));
  console.error(
    `writing ${LARGE_FILES} × ${LARGE_MIB} MiB and ${SMALL_FILES} × ${SMALL_KIB} KiB under ${local} ...`,
  );
  for (const name of largeNames) await writeRandomFile(join(local, name), LARGE_BYTES);
  await writeSmallFiles(join(local, "small"), SMALL_FILES, SMALL_BYTES);
  // writeSmallFiles names them part<NNN>/img<NNNNNN>.bin, 1,000 to a directory.
  const smallNames = Array.from({ length: SMALL_FILES }, (_, i) =>
    join(
      "small",
      `part${String(Math.floor(i / 1000)).padStart(3, "0")}`,
      `img${String(i).padStart(6, "0")}.bin`,
    ),
  );

  const server = await startS3rver(join(scratch, "s3rver-data"), [BUCKET]);
  state.server = server;
  console.error("pushing the package to s3rver ...");
  await pushPackage(scratch, server.endpoint, BUCKET, PACKAGE, local);
  // The local copy is no longer needed: give its disk space back before the cache fills.
  await rm(local, { recursive: true, force: true });
  await rm(join(scratch, "push-cache"), { recursive: true, force: true });

  const mountpoint = join(scratch, "mnt");
  await mkdir(mountpoint, { recursive: true });
  const quiltEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ...S3RVER_AWS_ENV,
    AWS_ENDPOINT_URL: server.endpoint,
    QUILT_STATE_DIR: join(scratch, "state"),
    QUILT_CACHE_DIR: join(scratch, "cache"),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  };
  state.mountpoint = mountpoint;
  state.quiltEnv = quiltEnv;
  quilt(
    ["mount", PACKAGE, mountpoint, "--registry", `s3://${BUCKET}`, "--cache-size", `${CACHE_MIB}M`],
    quiltEnv,
  );
  const pid = daemonPid(scratch);
  if (pid === undefined) throw new Error("the daemon wrote no pid file");
  const socket = join(scratch, "state", "daemon", "quilt.sock");
  const files = {
    large: largeNames.map((n) => join(mountpoint, n)),
    small: smallNames.map((n) => join(mountpoint, n)),
  };
  const direct = directWorks(files.large[0] as string);
  console.error(
    `daemon pid ${pid}; O_DIRECT reads ${direct ? "work" : "do NOT work (dd and preads go through the page cache)"}`,
  );

  const load: Load = {
    stats: {
      dd: { runs: 0, failures: 0, bytes: 0 },
      cat: { runs: 0, failures: 0, bytes: 0 },
      pread: { runs: 0, failures: 0, bytes: 0 },
    },
    errors: [],
  };
  const samples: Sample[] = [];
  const baseline = await sample(pid, socket, 0, load, "before load");
  if (!baseline) throw new Error(`daemon ${pid} is not running`);
  samples.push(baseline);
  const fdsBefore = fdBreakdown(pid, scratch);
  console.error(`before load: ${fmtSample(baseline)}`);

  console.error(
    `${READERS} readers for ${MINUTES} min (${KINDS.map((k, i) => `${k} ${Math.ceil((READERS - i) / KINDS.length)}`).join(", ")}), sampling every ${SAMPLE_SECONDS} s ...`,
  );
  const loadStart = performance.now();
  const deadline = loadStart + DURATION_S * 1000;
  const slots = Array.from({ length: READERS }, (_, i) =>
    readerLoop(KINDS[i % KINDS.length] as Kind, files, direct, deadline, load),
  );
  let daemonDied = false;
  let fdsAtMax = { count: 0, breakdown: "" };
  for (let k = 1; k * SAMPLE_SECONDS <= DURATION_S && !state.stopping; k++) {
    await sleep(loadStart + k * SAMPLE_SECONDS * 1000 - performance.now());
    const s = await sample(pid, socket, k * SAMPLE_SECONDS, load);
    if (!s) {
      daemonDied = true;
      console.error(`daemon ${pid} is gone: stopping the readers`);
      state.stopping = true;
      for (const c of state.readers) c.kill("SIGKILL");
      break;
    }
    samples.push(s);
    if (s.fds > fdsAtMax.count) fdsAtMax = { count: s.fds, breakdown: fdBreakdown(pid, scratch) };
    console.error(`  ${String(s.t).padStart(4)} s: ${fmtSample(s)}`);
  }
  // Runs in flight at the deadline finish before the readers stop.
  await Promise.all(slots);
  const loadEnd = loadLine();
  let fdsIdle = "";
  if (!daemonDied) {
    // After the readers: what the daemon gives back once idle (descriptors in particular).
    const since = (performance.now() - loadStart) / 1000;
    const done = await sample(
      pid,
      socket,
      since,
      load,
      `readers done (${(since - DURATION_S).toFixed(0)} s after the deadline)`,
    );
    await sleep(SAMPLE_SECONDS * 1000);
    const idle =
      done &&
      (await sample(
        pid,
        socket,
        (performance.now() - loadStart) / 1000,
        load,
        `idle ${SAMPLE_SECONDS} s later`,
      ));
    if (done && idle) {
      samples.push(done, idle);
      fdsIdle = fdBreakdown(pid, scratch);
      console.error(`readers done: ${fmtSample(done)}\nidle: ${fmtSample(idle)}`);
    } else daemonDied = true;
  }
  const tot = totals(load);
  const verdict = judge(samples, load, daemonDied);
  const minutes = (performance.now() - t0) / 60_000;
  const section = [
    START,
    "## Soak: daemon memory and open files under sustained reads (scripts/soak.ts)",
    "",
    `- Machine: ${machineLine()}`,
    `- Date: ${today()}; load average at start ${loadAtStart}, at the end of the readers ${loadEnd} (the machine may be shared); whole script ${minutes.toFixed(1)} min`,
    `- Dataset: ${LARGE_FILES} × ${LARGE_MIB} MiB of random bytes and ${SMALL_FILES} × ${SMALL_KIB} KiB in ${Math.ceil(SMALL_FILES / 1000)} nested directories, ${mib(DATASET_BYTES)} MiB in all, on s3rver 3.7.1 (own process, loopback)`,
    `- Mount: \`quilt mount --cache-size ${CACHE_MIB}M\` (daemon from dist/, own state and cache directories): the cache holds ${((CACHE_MIB * MiB * 100) / DATASET_BYTES).toFixed(0)}% of the dataset, so eviction runs throughout`,
    `- Load: ${READERS} readers for ${MINUTES} min, each a loop of child processes: \`dd bs=1M count=${DD_MIB}\` of a large file from a random offset${direct ? " (iflag=direct)" : ""}; \`cat\` of ${CAT_FILES} random small files (through the page cache: opens and releases); Python, ${PREAD_COUNT} random 4 KiB preads over the large files and ${PREAD_SMALL_FILES} random small ones${direct ? " (O_DIRECT)" : ""}. ${direct ? "O_DIRECT keeps dd and the preads out of the page cache, so their reads reach the daemon." : "O_DIRECT did not work on the mount: repeated reads may come from the page cache."} A run fails on a non-zero exit, a short read or a hang over ${READER_TIMEOUT_MS / 1000} s`,
    `- Readers: ${KINDS.map((k) => `${k} ${load.stats[k].runs} runs, ${mib(load.stats[k].bytes)} MiB, ${load.stats[k].failures} failed`).join("; ")}; ${mib(tot.bytes)} MiB in all (${(tot.bytes / MiB / DURATION_S).toFixed(0)} MiB/s)`,
    `- Sampled every ${SAMPLE_SECONDS} s from /proc/PID of the daemon (pid file): VmRSS (RssAnon / RssFile; file-backed pages include the LMDB index's map), VmHWM, entries of fd/, Threads, utime+stime; cache figures from the daemon's stats`,
    `- Daemon descriptors: before load ${fdsBefore}; at the most (${fdsAtMax.count}) ${fdsAtMax.breakdown || "?"}; idle after ${fdsIdle || "?"}`,
    "",
    ...table(samples),
    "",
    ...verdict.lines,
    END,
  ].join("\n");
  console.log(section);
  if (!args["no-write"]) await writeSection(START, END, section);
  return verdict.ok ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  if (!signaled) console.error(err);
} finally {
  await cleanup();
}
process.exit(signaled ? 130 : code);
