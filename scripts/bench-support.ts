// What the benchmark scripts share: naming the machine, options from argv or environment,
// generating test data, a file-backed s3rver in its own process (the S3 server with
// efficient ranged reads that DESIGN.md picks for throughput work), dropping the page cache,
// timing child processes, and rewriting one marked section of docs/BENCHMARKS.md.
import { spawn, spawnSync, type SpawnOptions } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdir, open, readFile, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg, release, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { PackageBuilder, Session } from "../src/index.js";
import { freePort, stopProcess } from "../test/helpers/moto-server.js";

// The AWS SDK's notice about future Node versions would only clutter the benchmark output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** The CLI every benchmark drives (it loads dist/: build first). */
export const QUILT_BIN = join(REPO_ROOT, "bin", "quilt.js");
export const BENCH_DOC = join(REPO_ROOT, "docs", "BENCHMARKS.md");

/** The credentials s3rver's default account accepts (it checks signatures); never real ones. */
export const S3RVER_AWS_ENV = {
  AWS_ACCESS_KEY_ID: "S3RVER",
  AWS_SECRET_ACCESS_KEY: "S3RVER",
  AWS_REGION: "us-east-1",
  AWS_DEFAULT_REGION: "us-east-1",
} as const;

export function intOption(arg: string | undefined, env: string, fallback: number): number {
  const text = arg ?? process.env[env];
  const n = text === undefined ? fallback : Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${env}: expected a positive integer, got ${text}`);
  return n;
}

export function cpuModel(): string {
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8")
      .split("\n")
      .find((l) => l.startsWith("model name"));
    return line?.split(":")[1]?.trim() ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** One line naming the machine the numbers come from. */
export function machineLine(): string {
  return `${cpuModel()}, ${availableParallelism()} cores, ${(totalmem() / GiB).toFixed(0)} GiB RAM; Linux ${release()}; Node ${process.version}`;
}

/** This machine may be shared: a section says how busy it was. */
export function loadLine(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
}

export function today(): string {
  return new Date().toISOString().slice(0, 10);
}

export async function writeRandomFile(path: string, bytes: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const fh = await open(path, "w");
  const block = Buffer.allocUnsafe(8 * MiB);
  try {
    for (let done = 0; done < bytes; done += block.length) {
      randomFillSync(block);
      await fh.write(block, 0, Math.min(block.length, bytes - done));
    }
  } finally {
    await fh.close();
  }
}

/** `count` distinct files of `bytes` each, 1,000 per directory like a real image dataset. */
export async function writeSmallFiles(dir: string, count: number, bytes: number): Promise<void> {
  const base = randomFillSync(Buffer.allocUnsafe(bytes));
  for (let i = 0; i < count; i++) {
    const sub = join(dir, `part${String(Math.floor(i / 1000)).padStart(3, "0")}`);
    if (i % 1000 === 0) await mkdir(sub, { recursive: true });
    base.writeUInt32LE(i, 0);
    await writeFile(join(sub, `img${String(i).padStart(6, "0")}.bin`), base);
  }
}

/**
 * Flushes dirty pages and drops the page cache (needs root), so a measurement neither pays
 * for the previous one's writeback nor reads what it left in memory; `"dentries"` drops only
 * the kernel's dentries and inodes (a FUSE daemon then gets FORGETs for the names it served).
 * False when not allowed.
 */
export function dropPageCache(what: "all" | "dentries" = "all"): boolean {
  spawnSync("sync");
  try {
    writeFileSync("/proc/sys/vm/drop_caches", what === "all" ? "3" : "2");
    return true;
  } catch {
    return false;
  }
}

export interface ServerHandle {
  endpoint: string;
  stop(): Promise<void>;
}

/** The pid listening on the endpoint's port (from `ss`), to read the server's CPU use. */
export function listenerPid(endpoint: string): number | undefined {
  const port = new URL(endpoint).port;
  const r = spawnSync("ss", ["-ltnpH", `sport = :${port}`], { encoding: "utf8" });
  const m = /pid=(\d+)/.exec(r.stdout ?? "");
  return m ? Number(m[1]) : undefined;
}

const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout?.trim()) || 100;

/** User + system CPU seconds a live process has used so far (Linux /proc). */
export function processCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th overall.
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/**
 * s3rver storing objects as files under `dataDir`, in a process of its own so it never
 * shares an event loop with the client being measured. ListObjectsV2 paging uses a cipher
 * that Node 20's OpenSSL 3 only offers with the legacy provider.
 */
export async function startS3rver(dataDir: string, buckets: string[]): Promise<ServerHandle> {
  await mkdir(dataDir, { recursive: true });
  const bin = join(REPO_ROOT, "node_modules", "s3rver", "bin", "s3rver.js");
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run npm install (s3rver is a devDependency)`);
  const port = await freePort();
  const args = [
    "--openssl-legacy-provider",
    bin,
    "-d",
    dataDir,
    "-a",
    "127.0.0.1",
    "-p",
    String(port),
    "--silent",
  ];
  for (const b of buckets) args.push("--configure-bucket", b);
  const proc = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  proc.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) break;
    if (
      await fetch(`${endpoint}/`).then(
        (r) => r.status < 500,
        () => false,
      )
    )
      return { endpoint, stop: () => stopProcess(proc) };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stopProcess(proc);
  throw new Error(`s3rver did not start on ${endpoint}:\n${stderr}`);
}

export interface Timed {
  seconds: number;
  stdout: string;
  /** User + system CPU seconds of the command (and its children), when /usr/bin/time is there. */
  cpu?: number;
}

const TIME_BIN = "/usr/bin/time";
const CPU_MARK = "QUILT_BENCH_CPU";
const HAVE_TIME = existsSync(TIME_BIN);

/**
 * Runs a command to completion and times it from spawn to exit; fails on a non-zero status.
 * With `cpu`, runs it under /usr/bin/time to also report the CPU it used.
 */
export function timeCommand(
  cmd: string,
  args: string[],
  opts: SpawnOptions & { stdoutTo?: "pipe" | "ignore"; input?: string; cpu?: boolean } = {},
): Promise<Timed> {
  const wrap = opts.cpu === true && HAVE_TIME;
  const argv: [string, string[]] = wrap ? [TIME_BIN, ["-f", `${CPU_MARK} %U %S`, cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const proc = spawn(argv[0], argv[1], {
      ...opts,
      stdio: [opts.input === undefined ? "ignore" : "pipe", opts.stdoutTo ?? "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    proc.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
    proc.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
    // A child that exits without reading its input must not crash us with EPIPE.
    proc.stdin?.on("error", () => undefined);
    proc.stdin?.end(opts.input);
    proc.once("error", reject);
    proc.once("close", (code) => {
      const seconds = (performance.now() - t) / 1000;
      const m = wrap ? new RegExp(`${CPU_MARK} ([\\d.]+) ([\\d.]+)`).exec(stderr) : null;
      if (code === 0) resolve({ seconds, stdout, ...(m && { cpu: Number(m[1]) + Number(m[2]) }) });
      else reject(new Error(`${cmd} ${args.join(" ")} exited with ${code}:\n${stderr}`));
    });
  });
}

/** The last line of a child's stdout, parsed as the JSON it reports its own timings in. */
export function lastJson<T>(stdout: string): T {
  const line = stdout.trim().split("\n").pop() ?? "";
  return JSON.parse(line) as T;
}

/** Replaces the text between `start` and `end` markers (appends the section when absent). */
export async function writeSection(start: string, end: string, section: string): Promise<void> {
  const header =
    "# Benchmarks\n\nMeasured numbers from the scripts in scripts/; each script rewrites its own section.\n\n";
  const text = existsSync(BENCH_DOC) ? await readFile(BENCH_DOC, "utf8") : header;
  const s = text.indexOf(start);
  const e = text.indexOf(end);
  const next =
    s >= 0 && e > s
      ? text.slice(0, s) + section + text.slice(e + end.length)
      : `${text.trimEnd()}\n\n${section}\n`;
  await mkdir(dirname(BENCH_DOC), { recursive: true });
  await writeFile(BENCH_DOC, next);
  console.error(`wrote ${BENCH_DOC}`);
}

export function fmtSeconds(s: number): string {
  return `${s.toFixed(s < 10 ? 2 : 1)} s`;
}

export function fmtRate(bytes: number, s: number): string {
  return `${(bytes / MiB / s).toFixed(0)} MiB/s`;
}

/** The commit measured, and whether the work tree differed from it (docs/ aside: the benchmarks write there themselves). */
export function commitLine(): string {
  const sha =
    spawnSync("git", ["-C", REPO_ROOT, "rev-parse", "--short", "HEAD"], {
      encoding: "utf8",
    }).stdout?.trim() || "unknown";
  const dirty =
    (
      spawnSync(
        "git",
        ["-C", REPO_ROOT, "status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs"],
        { encoding: "utf8" },
      ).stdout ?? ""
    ).trim() !== "";
  return `commit ${sha}${dirty ? " with uncommitted changes" : ""}`;
}

/** "2026-12-04, <machine>; load average at the end …": the opening of a section run beside other work. */
export function sharedRunLine(): string {
  return `${today()}, ${machineLine()}; load average at the end ${loadLine()} (a shared machine: other jobs ran). ${commitLine()}`;
}

/** Peak RSS (VmHWM) of a live process in MiB, since it started or since its clear_refs was reset. */
export function peakRssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Pushes the local copy as package `name` to `s3://bucket` with our library. */
export async function pushPackage(
  scratch: string,
  endpoint: string,
  bucket: string,
  name: string,
  local: string,
): Promise<void> {
  Object.assign(process.env, S3RVER_AWS_ENV);
  const ctx = new Session({
    cacheDir: join(scratch, "push-cache"),
    s3: { endpoint, forcePathStyle: true },
  });
  try {
    const b = new PackageBuilder(name, { registry: `s3://${bucket}`, session: ctx });
    await b.add(local, "");
    await b.pushDataAndManifest({});
  } finally {
    await ctx.close();
  }
}

/** The middle value (the mean of the two middle ones for an even count); NaN for none. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length === 0
    ? NaN
    : s.length % 2
      ? (s[mid] as number)
      : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export interface Measured {
  seconds: number;
  rssMiB: number;
  stdout: string;
}

const RSS_MARK = "QUILT_BENCH_RSS";

/** Runs a command to completion under /usr/bin/time: wall seconds and peak RSS (max over the process tree's largest). */
export function measure(
  cmd: string,
  argv: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  input?: string,
): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const proc = spawn("/usr/bin/time", ["-f", `${RSS_MARK} %M`, cmd, ...argv], {
      env,
      cwd,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
    proc.stdin.on("error", () => undefined);
    proc.stdin.end(input ?? "");
    proc.once("error", reject);
    proc.once("close", (code) => {
      const seconds = (performance.now() - t) / 1000;
      const m = new RegExp(`${RSS_MARK} (\\d+)`).exec(stderr);
      if (code !== 0 || !m) reject(new Error(`${cmd} ${argv.join(" ")} exited with ${code}:\n${stderr}`));
      else resolve({ seconds, rssMiB: Number(m[1]) / 1024, stdout });
    });
  });
}
