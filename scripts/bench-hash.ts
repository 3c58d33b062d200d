// Benchmark (not a test) of entry hashing against coreutils `sha256sum` on the same bytes:
// one large file through hashFile (the single-threaded streaming path) and many small files
// through the worker pool. Goals: one file within 10% of sha256sum's throughput, many files
// faster than sha256sum by using every core. Prints a Markdown section and writes it into
// docs/BENCHMARKS.md between the bench-hash markers.
//
//   npx tsx scripts/bench-hash.ts [--large-mib 1024] [--files 10000] [--file-kib 100] [--runs 3] [--no-write]
//
// The same options can come from the environment: BENCH_LARGE_MIB, BENCH_FILES, BENCH_FILE_KIB,
// BENCH_RUNS. Page caches are not dropped (that needs root): every measurement follows one
// warm-up round, so every side reads from a warm page cache.
import { spawnSync } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { hashFile, type HashType } from "../src/manifest/checksums.js";
import { HashPool } from "../src/manifest/hash-pool.js";
import { cpuModel, MiB, intOption, writeRandomFile } from "./bench-support.js";

const START = "<!-- bench-hash:start -->";
const END = "<!-- bench-hash:end -->";
const DOC = join(dirname(fileURLToPath(import.meta.url)), "..", "docs", "BENCHMARKS.md");

const { values: args } = parseArgs({
  options: {
    "large-mib": { type: "string" },
    files: { type: "string" },
    "file-kib": { type: "string" },
    runs: { type: "string" },
    "no-write": { type: "boolean", default: false },
  },
});

const LARGE_MIB = intOption(args["large-mib"], "BENCH_LARGE_MIB", 1024);
const FILES = intOption(args.files, "BENCH_FILES", 10_000);
const FILE_KIB = intOption(args["file-kib"], "BENCH_FILE_KIB", 100);
const RUNS = intOption(args.runs, "BENCH_RUNS", 3);

/**
 * Best wall time in seconds of each contender over RUNS rounds, after one warm-up round.
 * Rounds interleave the contenders, so a burst of load from other processes on the machine
 * hits all of them alike instead of one contender's whole series.
 */
async function best(contenders: (() => Promise<void> | void)[]): Promise<number[]> {
  const mins = contenders.map(() => Infinity);
  for (let round = 0; round <= RUNS; round++) {
    for (const [i, run] of contenders.entries()) {
      const t = performance.now();
      await run();
      if (round > 0) mins[i] = Math.min(mins[i] as number, (performance.now() - t) / 1000);
    }
  }
  return mins;
}

function run(argsList: string[], input?: string): void {
  const [cmd, ...rest] = argsList as [string, ...string[]];
  const r = spawnSync(cmd, rest, { input, stdio: ["pipe", "ignore", "inherit"], maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${argsList.join(" ")} failed with status ${r.status}`);
}

async function writeSmallFiles(dir: string, count: number, bytes: number): Promise<string[]> {
  const base = randomFillSync(Buffer.allocUnsafe(bytes));
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    const sub = join(dir, String(Math.floor(i / 1000))); // 1,000 files per directory, like a real dataset
    if (i % 1000 === 0) await mkdir(sub, { recursive: true });
    base.writeUInt32LE(i, 0); // every file distinct
    const path = join(sub, `f${i}.bin`);
    await writeFile(path, base);
    paths.push(path);
  }
  return paths;
}

function sha256sumVersion(): string {
  const r = spawnSync("sha256sum", ["--version"], { encoding: "utf8" });
  return r.stdout?.split("\n")[0]?.trim() || "unknown";
}

interface Row {
  name: string;
  bytes: number;
  /** Seconds: ours, `sha256sum`, and `openssl dgst -sha256` (the OpenSSL code Node's crypto also uses). */
  ours: number;
  theirs: number;
  openssl: number | undefined;
}

function formatRow(r: Row): string {
  const mbps = (s: number) => (r.bytes / MiB / s).toFixed(0);
  const ratio = r.theirs / r.ours; // ours / sha256sum throughput
  const cell = (t: number) => `${t.toFixed(3)} s (${mbps(t)} MiB/s)`;
  const openssl = r.openssl ? cell(r.openssl) : "n/a";
  return `| ${r.name} | ${cell(r.ours)} | ${cell(r.theirs)} | **${ratio.toFixed(2)}×** | ${openssl} |`;
}

async function main(): Promise<void> {
  const loadAtStart = loadavg(); // this machine may be shared: say how busy it was
  const dir = await mkdtemp(join(tmpdir(), "quilt-bench-hash-"));
  const pool = new HashPool();
  try {
    console.error(`writing ${LARGE_MIB} MiB file and ${FILES} × ${FILE_KIB} KiB files in ${dir} ...`);
    const large = join(dir, "large.bin");
    await writeRandomFile(large, LARGE_MIB * MiB);
    const small = await writeSmallFiles(join(dir, "small"), FILES, FILE_KIB * 1024);
    const list = join(dir, "list");
    await writeFile(list, small.join("\0"));
    const listText = await readFile(list, "utf8");

    const rows: Row[] = [];
    const haveOpenssl = spawnSync("openssl", ["version"]).status === 0;
    const time = async (
      name: string,
      bytes: number,
      ours: () => Promise<unknown>,
      theirs: (cmd: string[]) => void,
    ) => {
      console.error(`measuring: ${name}`);
      const [o, t, ssl] = await best([
        async () => void (await ours()),
        () => theirs(["sha256sum"]),
        ...(haveOpenssl ? [() => theirs(["openssl", "dgst", "-sha256"])] : []),
      ]);
      const row: Row = { name, bytes, ours: o as number, theirs: t as number, openssl: ssl };
      rows.push(row);
      console.error(formatRow(row));
    };
    const largeBytes = LARGE_MIB * MiB;
    const smallBytes = FILES * FILE_KIB * 1024;
    const one = (type: HashType) => () => hashFile(large, type);
    await time(
      `one ${LARGE_MIB} MiB file, hashFile sha2-256-chunked`,
      largeBytes,
      one("sha2-256-chunked"),
      (cmd) => run([...cmd, large]),
    );
    await time(`one ${LARGE_MIB} MiB file, hashFile SHA256`, largeBytes, one("SHA256"), (cmd) =>
      run([...cmd, large]),
    );
    await time(
      `one ${LARGE_MIB} MiB file, pool sha2-256-chunked (chunks over threads)`,
      largeBytes,
      () => pool.hashFiles([large]),
      (cmd) => run([...cmd, large]),
    );
    await time(
      `${FILES} × ${FILE_KIB} KiB files, pool sha2-256-chunked`,
      smallBytes,
      () => pool.hashFiles(small),
      (cmd) => run(["xargs", "-0", ...cmd], listText),
    );
    await time(
      `${FILES} × ${FILE_KIB} KiB files, pool SHA256`,
      smallBytes,
      () => pool.hashFiles(small, "SHA256"),
      (cmd) => run(["xargs", "-0", ...cmd], listText),
    );

    const fresh = new HashPool();
    const t0 = performance.now();
    await fresh.hashFiles(small);
    const cold = (performance.now() - t0) / 1000;
    await fresh.close();

    const section = [
      START,
      "## Entry hashing vs `sha256sum` (scripts/bench-hash.ts)",
      "",
      `- Machine: ${cpuModel()}, ${availableParallelism()} cores; Node ${process.version} (OpenSSL ${process.versions.openssl}); ${sha256sumVersion()}`,
      `- Date: ${new Date().toISOString().slice(0, 10)}; best of ${RUNS} interleaved rounds after one warm-up round, page cache warm for all (nothing dropped); load average at start ${loadAtStart.map((l) => l.toFixed(2)).join(" ")}`,
      "- `sha256sum` over many files is one process fed every name by `xargs -0`; the pool uses one worker thread per core",
      "- The openssl column is context only: `openssl dgst -sha256` uses the same OpenSSL SHA-256 code as Node, one file at a time",
      `- A fresh pool's first call on the many files, starting its threads under tsx: ${cold.toFixed(3)} s`,
      "",
      "| case | ours | sha256sum | throughput ratio (ours / sha256sum) | openssl dgst -sha256 |",
      "|---|---|---|---|---|",
      ...rows.map(formatRow),
      END,
    ].join("\n");
    console.log(section);
    if (!args["no-write"]) await writeSection(section);
  } finally {
    await pool.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function writeSection(section: string): Promise<void> {
  const header =
    "# Benchmarks\n\nMeasured numbers from the scripts in scripts/; each script rewrites its own section.\n\n";
  const text = existsSync(DOC) ? await readFile(DOC, "utf8") : header;
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  const next =
    start >= 0 && end > start
      ? text.slice(0, start) + section + text.slice(end + END.length)
      : `${text.trimEnd()}\n\n${section}\n`;
  await mkdir(dirname(DOC), { recursive: true });
  await writeFile(DOC, next);
  console.error(`wrote ${DOC}`);
}

await main();
