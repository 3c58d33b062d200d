// Benchmark (not a test) of `ls -l` of one large flat directory through a mount (issue 13):
// a generated package of FLAT entries in one directory (local registry, entries pointing at
// S3 objects that are never read), mounted by a running daemon, against the same names and
// sizes as plain (sparse) files in a local directory, measured in the same rounds so the
// machine's load weighs on both. Each round remounts, so the first listing is cold in the
// kernel (every name costs a FUSE lookup), then lists again warm (entries and attributes
// still in the kernel's caches), then lists the local directory. Also reports the daemon's
// CPU per file of the cold listing. Writes an "`ls -l` of a large directory" section into
// docs/BENCHMARKS.md.
//
//   npx tsx scripts/bench-ls.ts [--flat 100000] [--rounds 3] [--no-build] [--no-write]
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { bigEntrySize, pushBigPackage } from "../test/helpers/big-manifest.js";
import { FAKE_AWS_ENV } from "../test/helpers/moto-server.js";
import {
  commitLine,
  fmtSeconds,
  intOption,
  loadLine,
  machineLine,
  processCpuSeconds,
  QUILT_BIN,
  REPO_ROOT,
  timeCommand,
  today,
  writeSection,
} from "./bench-support.js";

const START = "<!-- bench-ls:start -->";
const END = "<!-- bench-ls:end -->";
const NAME = "bench/ls";

const { values: args } = parseArgs({
  options: {
    flat: { type: "string" },
    rounds: { type: "string" },
    "no-build": { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
  },
});
const FLAT = intOption(args.flat, "BENCH_FLAT", 100_000);
const ROUNDS = intOption(args.rounds, "BENCH_ROUNDS", 3);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** The flat directory's names and sizes as sparse local files: what an installed copy lists. */
async function writeLocalCopy(dir: string): Promise<void> {
  await mkdir(dir);
  for (let i = 0; i < FLAT; i++) {
    const fh = await open(join(dir, `f${String(i).padStart(7, "0")}.bin`), "w");
    await fh.truncate(bigEntrySize(i));
    await fh.close();
  }
}

interface Round {
  cold: number;
  warm: number;
  local: number;
  /** Daemon CPU seconds during the cold listing. */
  daemonCpu: number;
}

async function main(): Promise<void> {
  if (!args["no-build"])
    spawnSync("npx", ["tsc", "-p", "tsconfig.json"], { cwd: REPO_ROOT, stdio: "inherit" });
  const scratch = await mkdtemp(join(tmpdir(), "quilt-bench-ls-"));
  const env = {
    ...process.env,
    ...FAKE_AWS_ENV,
    AWS_ENDPOINT_URL: "http://127.0.0.1:9",
    QUILT_STATE_DIR: join(scratch, "state"),
    QUILT_CACHE_DIR: join(scratch, "cache"),
    QUILT_REGISTRY: join(scratch, "registry"),
  };
  const quilt = (...a: string[]) =>
    timeCommand(process.execPath, [QUILT_BIN, ...a], { env, stdoutTo: "pipe" });
  const ls = async (dir: string) => {
    const r = await timeCommand("bash", ["-c", `ls -l ${dir} | wc -l`], { env, stdoutTo: "pipe" });
    if (Number(r.stdout.trim()) !== FLAT + 1) throw new Error(`ls -l ${dir} listed ${r.stdout.trim()} lines`);
    return r.seconds;
  };
  const mnt = join(scratch, "mnt");
  const local = join(scratch, "installed-flat");
  const loadStart = loadLine();
  const started = Date.now();
  try {
    console.error(`generating ${FLAT} entries in one directory under ${scratch}`);
    await pushBigPackage(env.QUILT_REGISTRY, NAME, { files: FLAT, perDir: 1000, flat: FLAT }, "v1");
    await writeLocalCopy(local);
    await mkdir(mnt);
    await quilt("daemon", "start");
    const pid = Number(readFileSync(join(scratch, "state", "daemon", "daemon.pid"), "utf8").trim());
    await quilt("mount", `${NAME}:v1`, mnt);
    const rounds: Round[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      // A fresh mount: the kernel has no entry of the directory's children yet.
      await quilt("unmount", mnt);
      await quilt("mount", `${NAME}:v1`, mnt);
      const cpu0 = processCpuSeconds(pid) ?? NaN;
      const cold = await ls(`${mnt}/flat`);
      const daemonCpu = (processCpuSeconds(pid) ?? NaN) - cpu0;
      const warm = await ls(`${mnt}/flat`);
      const localSeconds = await ls(local);
      rounds.push({ cold, warm, local: localSeconds, daemonCpu });
      console.error(
        `round ${r + 1}: cold ${fmtSeconds(cold)}, warm ${fmtSeconds(warm)}, local ${fmtSeconds(localSeconds)}, daemon CPU ${fmtSeconds(daemonCpu)}; load ${loadLine()}`,
      );
    }
    const med = (f: (r: Round) => number) => median(rounds.map(f));
    const each = (f: (r: Round) => number) => rounds.map((r) => f(r).toFixed(1)).join(", ");
    const perFileUs = (s: number) => ((s / FLAT) * 1e6).toFixed(0);
    const section = [
      START,
      "## `ls -l` of a large directory (scripts/bench-ls.ts)",
      "",
      `- Machine: ${machineLine()}; shared with other work: load average at start ${loadStart}, at end ${loadLine()}`,
      `- ${today()}, ${commitLine()}; one directory of ${FLAT.toLocaleString("en")} entries, generated manifest in a local registry, mounted by a running daemon (from its manifest index); the local copy is the same names and sizes as sparse files; ${ROUNDS} rounds, each: remount, \`ls -l\` of the mount (cold), again (warm), then of the local copy; medians, each round's ratio in brackets; whole script ${((Date.now() - started) / 60000).toFixed(1)} min`,
      "",
      "| `ls -l` | time | per file | vs the local copy | goal |",
      "|---|---|---|---|---|",
      `| mount, cold (fresh mount: one FUSE lookup per name) | ${fmtSeconds(med((r) => r.cold))} | ${perFileUs(med((r) => r.cold))} µs | **${med((r) => r.cold / r.local).toFixed(1)}×** (${each((r) => r.cold / r.local)}) | ≤ 3× |`,
      `| mount, warm (kernel caches hold every entry) | ${fmtSeconds(med((r) => r.warm))} | ${perFileUs(med((r) => r.warm))} µs | **${med((r) => r.warm / r.local).toFixed(1)}×** (${each((r) => r.warm / r.local)}) | ≤ 3× |`,
      `| local copy (baseline) | ${fmtSeconds(med((r) => r.local))} | ${perFileUs(med((r) => r.local))} µs | 1.0× |  |`,
      `| daemon CPU during the cold listing | ${fmtSeconds(med((r) => r.daemonCpu))} | ${perFileUs(med((r) => r.daemonCpu))} µs |  |  |`,
      "",
      LS_PROSE,
      END,
    ].join("\n");
    console.log(section);
    if (!args["no-write"]) await writeSection(START, END, section);
  } finally {
    await quilt("daemon", "stop").catch(() => undefined);
    spawnSync("fusermount", ["-uz", mnt]);
    await rm(scratch, { recursive: true, force: true });
  }
}

const LS_PROSE =
  "What a listing costs: `ls -l` reads the directory (one FUSE readdir answered from the children table), then for every name calls statx, lgetxattr(security.selinux) and getxattr(system.posix_acl_access). The mount answers names outside the user.* namespace with EOPNOTSUPP, so ls asks them once per listing (coreutils remembers an unsupported filesystem by st_dev); answered ENODATA, as before, they cost two round trips to the daemon per file that the kernel never caches. The statx of a name the kernel has not seen costs one LOOKUP, which the libfuse 2 high-level API answers with a getattr of the path in the daemon's JS thread: two thread hand-offs (FUSE thread to the event loop and back) per name, and libfuse 2.9 has no READDIRPLUS to fill the kernel's entries from the listing. Warm, the kernel answers statx from its entry and attribute caches (one hour: a version never changes, and `quilt switch` invalidates them) and the daemon is not asked at all.";

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
