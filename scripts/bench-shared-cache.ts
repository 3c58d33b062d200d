// Benchmark (not a test) of daemons sharing one data directory (GPU nodes on one EFS/NFS
// cache; here several daemons on one host, each with its own state directory) reading the
// same cold file at the same time: how many bytes and GETs reach S3, per byte of the file
// (1.00× is each block fetched once). Baselines in the same run: one daemon alone, and the
// same daemons with the fetch claims turned off (QUILT_CACHE_CLAIMS=0, as before claims).
// A file with S3 part checksums (what quilt3 and quilt push to S3 in parts; faked by the
// test proxy, since moto's answer fails in the JS SDK) is verified chunk by chunk and shared
// through claims; a file without them is read privately by each daemon until one has
// verified it whole, shown too.
// Prints a Markdown section and writes it into docs/BENCHMARKS.md between its markers.
//
//   npx tsx scripts/bench-shared-cache.ts [--mib 64] [--daemons 2] [--runs 3] [--no-build] [--no-write]
//
// Also from the environment: BENCH_SHARED_MIB, BENCH_SHARED_DAEMONS, BENCH_RUNS. The server
// is moto (our push uploads in parts there, as to S3; s3rver gets one PUT, without parts)
// behind the test suite's proxy (which counts every GET and its body bytes); the
// daemons run from dist/ (built first unless --no-build); every read is `dd` in a child.
import { execFile, spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from "@aws-sdk/client-s3";
import { startFaultProxy, type FaultProxy } from "../test/helpers/daemon-proxy.js";
import { FAKE_AWS_ENV, startMoto } from "../test/helpers/moto-server.js";
import { partsOf } from "../test/helpers/fault-proxy-s3.js";
import {
  commitLine,
  fmtSeconds,
  intOption,
  loadLine,
  machineLine,
  MiB,
  pushPackage,
  REPO_ROOT,
  timeCommand,
  today,
  writeRandomFile,
  writeSection,
  QUILT_BIN,
} from "./bench-support.js";

const START = "<!-- bench-shared-cache:start -->";
const END = "<!-- bench-shared-cache:end -->";
const BUCKET = "bench";
const PACKAGE = "bench/shared";
const WITH_PARTS = "with-parts.bin";
const WITHOUT_PARTS = "without-parts.bin";

const { values: args } = parseArgs({
  options: {
    mib: { type: "string" },
    daemons: { type: "string" },
    runs: { type: "string" },
    "no-build": { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
  },
});
const FILE_MIB = intOption(args.mib, "BENCH_SHARED_MIB", 64);
const DAEMONS = intOption(args.daemons, "BENCH_SHARED_DAEMONS", 2);
const RUNS = intOption(args.runs, "BENCH_RUNS", 3);
const BYTES = FILE_MIB * MiB;
const BLOCK = MiB;

interface Run {
  gets: number;
  bytes: number;
  /** Slowest reader, from the start of all reads. */
  seconds: number;
  claimWaits: number;
  claimTakeovers: number;
  claimTimeouts: number;
}

function quilt(env: NodeJS.ProcessEnv, argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [QUILT_BIN, ...argv], { env, timeout: 120_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`quilt ${argv.join(" ")}: ${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}

/** `daemons` fresh daemons on one fresh shared data directory, each reading `file` through its own mount at once. */
async function measure(
  scratch: string,
  proxy: FaultProxy,
  file: string,
  daemons: number,
  claims: boolean,
  round: number,
): Promise<Run> {
  const root = join(scratch, `${file}-${daemons}-${claims ? "on" : "off"}-${round}`);
  const shared = join(root, "shared-data");
  const envs = Array.from({ length: daemons }, (_, i) => ({
    ...process.env,
    ...FAKE_AWS_ENV,
    AWS_ENDPOINT_URL: proxy.endpoint,
    QUILT_STATE_DIR: join(root, `node${i}`, "state"),
    QUILT_CACHE_DIR: join(root, `node${i}`, "cache"),
    QUILT_CACHE_DATA_DIR: shared,
    QUILT_CACHE_CLAIMS: claims ? "1" : "0",
  }));
  const mounts = envs.map((_, i) => join(root, `node${i}`, "mnt"));
  try {
    for (const [i, env] of envs.entries()) {
      await mkdir(mounts[i] as string, { recursive: true });
      await quilt(env, [
        "mount",
        PACKAGE,
        mounts[i] as string,
        "--registry",
        `s3://${BUCKET}`,
        "--cache-size",
        "4G",
      ]);
    }
    const before = proxy.gets(file);
    const start = performance.now();
    await Promise.all(
      mounts.map((m) =>
        timeCommand("dd", [`if=${join(m, file)}`, "of=/dev/null", "bs=1M"], { stdoutTo: "ignore" }),
      ),
    );
    const seconds = (performance.now() - start) / 1000;
    const gets = proxy.gets(file).slice(before.length);
    const stats = await Promise.all(
      envs.map(
        async (env) =>
          JSON.parse(await quilt(env, ["daemon", "status", "--json"])) as { cache: Record<string, number> },
      ),
    );
    const sum = (k: string) => stats.reduce((n, s) => n + (s.cache[k] ?? 0), 0);
    return {
      gets: gets.length,
      bytes: gets.reduce((n, g) => n + (g.bodyBytes ?? 0), 0),
      seconds,
      claimWaits: sum("claimWaits"),
      claimTakeovers: sum("claimTakeovers"),
      claimTimeouts: sum("claimTimeouts"),
    };
  } finally {
    for (const [i, env] of envs.entries()) {
      await quilt(env, ["unmount", mounts[i] as string]).catch(() => undefined);
      await quilt(env, ["daemon", "stop"]).catch(() => undefined);
    }
    await rm(root, { recursive: true, force: true });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function row(label: string, runs: Run[], baseline: Run[]): string {
  const bytes = median(runs.map((r) => r.bytes));
  const gets = median(runs.map((r) => r.gets));
  const ratio = bytes / median(baseline.map((r) => r.bytes));
  const claims = `${median(runs.map((r) => r.claimWaits))} / ${median(runs.map((r) => r.claimTakeovers))} / ${median(runs.map((r) => r.claimTimeouts))}`;
  const all = runs.map((r) => (r.bytes / BYTES).toFixed(2)).join(", ");
  return `| ${label} | ${gets} | ${(bytes / MiB).toFixed(1)} MiB | **${(bytes / BYTES).toFixed(2)}×** (${all}) | ${ratio.toFixed(2)}× | ${(gets / (BYTES / BLOCK)).toFixed(3)} | ${fmtSeconds(median(runs.map((r) => r.seconds)))} | ${claims} |`;
}

async function main(): Promise<void> {
  const started = performance.now();
  const loadStart = loadLine();
  if (!args["no-build"])
    spawnSync("npx", ["tsc", "-p", "tsconfig.json"], { cwd: REPO_ROOT, stdio: "inherit" });
  const scratch = await mkdtemp(join(tmpdir(), "quilt-bench-shared-"));
  const server = await startMoto();
  const client = new S3Client({
    endpoint: server.endpoint,
    forcePathStyle: true,
    region: FAKE_AWS_ENV.AWS_REGION,
    credentials: {
      accessKeyId: FAKE_AWS_ENV.AWS_ACCESS_KEY_ID,
      secretAccessKey: FAKE_AWS_ENV.AWS_SECRET_ACCESS_KEY,
    },
  });
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  // Versioned, as the registries the test suite uses (and most S3 registries) are.
  await client.send(
    new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: "Enabled" } }),
  );
  client.destroy();
  let proxy: FaultProxy | undefined;
  try {
    const local = join(scratch, "local");
    await mkdir(local, { recursive: true });
    await writeRandomFile(join(local, WITH_PARTS), BYTES);
    await writeRandomFile(join(local, WITHOUT_PARTS), BYTES);
    await pushPackage(scratch, server.endpoint, BUCKET, PACKAGE, local);
    proxy = await startFaultProxy(server.endpoint);
    proxy.fakeObjectParts(WITH_PARTS, partsOf(await readFile(join(local, WITH_PARTS))));
    const results: string[] = [];
    for (const file of [WITH_PARTS, WITHOUT_PARTS]) {
      const alone: Run[] = [];
      const off: Run[] = [];
      const on: Run[] = [];
      for (let r = 0; r < RUNS; r++) {
        alone.push(await measure(scratch, proxy, file, 1, true, r));
        off.push(await measure(scratch, proxy, file, DAEMONS, false, r));
        on.push(await measure(scratch, proxy, file, DAEMONS, true, r));
        console.error(
          `${file} round ${r + 1}: alone ${(alone[r] as Run).bytes / BYTES}×, claims off ${(off[r] as Run).bytes / BYTES}×, on ${(on[r] as Run).bytes / BYTES}×`,
        );
      }
      const what = file === WITH_PARTS ? "part checksums (chunk path)" : "no part checksums (private path)";
      results.push(row(`${what}: 1 daemon (baseline)`, alone, alone));
      results.push(row(`${what}: ${DAEMONS} daemons, claims off (before)`, off, alone));
      results.push(row(`${what}: ${DAEMONS} daemons, claims on`, on, alone));
    }
    const section = [
      START,
      "## Shared data directory: daemons reading one cold file at once",
      "",
      `\`scripts/bench-shared-cache.ts\`: ${DAEMONS} daemons on one host, each with its own state directory and LMDB index, share one data directory (QUILT_CACHE_DATA_DIR) and read the same cold ${FILE_MIB} MiB file at the same time through their own mounts (\`dd bs=1M\`). Counted at the S3 side by the test proxy in front of moto: GETs of the file and their body bytes, medians of ${RUNS} rounds (each round's × in brackets). "× file" is bytes fetched per byte of the file, i.e. fetches per 1 MiB block on average; 1.00× is each block fetched once. "vs 1 daemon" divides by the single-daemon run of the same round set. Claims: waits on another daemon's fetch / stale claims taken over / waits that hit the bound.`,
      "",
      "| file, daemons | GETs | fetched | × file | vs 1 daemon | GETs per block | slowest reader | claims w / t / to |",
      "|---|---|---|---|---|---|---|---|",
      ...results,
      "",
      "- A file with part checksums is fetched in 8 MiB chunks, each verified before it is stored; with claims each chunk is fetched by one daemon, and the others hash the block files it wrote. Without part checksums each daemon streams the file under its private key (bytes nobody has verified are never shared), so claims do not apply and N daemons reading at once fetch about N×; only a daemon that starts after another has verified the file whole uses its shared blocks. One daemon alone fetches a little over 1× on that path (its background fill and the reader's own fetches overlap at times), as before claims.",
      `- Date: ${today()}; ${machineLine()}; load average at start ${loadStart}, at end ${loadLine()} (the machine is shared with other work, which may run alongside); ${commitLine()}; whole script ${((performance.now() - started) / 60_000).toFixed(1)} min`,
      END,
    ].join("\n");
    console.log(section);
    if (!args["no-write"]) await writeSection(START, END, section);
  } finally {
    await proxy?.close();
    await server.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}

await main();
