// Benchmark (not a test) of `ls -l` of one large flat directory through a mount (issue 13):
// a generated package of FLAT entries in one directory (local registry, entries pointing at
// S3 objects that are never read), mounted by a running daemon, against the same names and
// sizes as plain (sparse) files in a local directory, measured in the same rounds so the
// machine's load weighs on both. Each round remounts, so the first listing is cold in the
// kernel (it learns every name and its attributes from the listing's pages: READDIRPLUS),
// then lists again warm (entries and attributes still in the kernel's caches), then lists
// the local directory. Also reports the daemon's
// CPU per file of the cold listing. Writes an "`ls -l` of a large directory" section into
// docs/BENCHMARKS.md.
//
// With --before DIR (a built checkout of an earlier commit, e.g. `git worktree add DIR COMMIT`
// then `npx tsc` there), that build's daemon is measured in the same rounds, on its own state.
//
//   npx tsx scripts/bench-ls.ts [--flat 100000] [--rounds 3] [--before DIR] [--no-build] [--no-write]
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { bigEntrySize, pushBigPackage } from "../test/helpers/big-manifest.js";
import { FAKE_AWS_ENV } from "../test/helpers/moto-server.js";
import {
  buildLibfuseFloor,
  flatName,
  startBindingFloor,
  startLibfuseFloor,
  type FloorMount,
} from "./bench-binding-floor.js";
import {
  commitLine,
  fmtSeconds,
  intOption,
  loadLine,
  machineLine,
  median,
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
    before: { type: "string" },
    "no-build": { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
  },
});
const FLAT = intOption(args.flat, "BENCH_FLAT", 100_000);
const ROUNDS = intOption(args.rounds, "BENCH_ROUNDS", 3);

/** A checkout by its commit (a path would name this machine's directories). */
function checkoutName(dir: string): string {
  const r = spawnSync("git", ["-C", dir, "log", "-1", "--format=%h"], { encoding: "utf8" });
  return r.status === 0 ? `commit ${r.stdout.trim()}` : "an earlier build";
}

/** The flat directory's names and sizes as sparse local files: what an installed copy lists. */
async function writeLocalCopy(dir: string): Promise<void> {
  await mkdir(dir);
  for (let i = 0; i < FLAT; i++) {
    const fh = await open(join(dir, flatName(i)), "w");
    await fh.truncate(bigEntrySize(i));
    await fh.close();
  }
}

/** A build whose daemon serves the mount: this checkout, or an earlier one given by --before. */
interface Build {
  label: string;
  bin: string;
  env: NodeJS.ProcessEnv;
  mnt: string;
  pid: number;
}

interface Listing {
  cold: number;
  warm: number;
  /** Daemon CPU seconds during the cold listing. */
  daemonCpu: number;
}

/** A filesystem with no logic that lists the same directory: what the mount's cost is made of. */
interface Floor {
  kind: FloorKind;
  label: string;
  start(): Promise<FloorMount>;
}

/** Which floor: the binding alone, libfuse 2 in C (multi-threaded, one thread), libfuse 3 in C with READDIRPLUS. */
type FloorKind = "binding" | "libfuse2" | "libfuse2-single" | "libfuse3-plus";

interface Round {
  local: number;
  builds: Listing[];
  /** The same listings of each floor filesystem (FLOORS order; scripts/bench-binding-floor.ts). */
  floors: Listing[];
}

async function main(): Promise<void> {
  if (!args["no-build"])
    spawnSync("npx", ["tsc", "-p", "tsconfig.json"], { cwd: REPO_ROOT, stdio: "inherit" });
  const scratch = await mkdtemp(join(tmpdir(), "quilt-bench-ls-"));
  const registry = join(scratch, "registry");
  const env = {
    ...process.env,
    ...FAKE_AWS_ENV,
    AWS_ENDPOINT_URL: "http://127.0.0.1:9",
    QUILT_REGISTRY: registry,
  };
  const quilt = (b: Pick<Build, "bin" | "env">, ...a: string[]) =>
    timeCommand(process.execPath, [b.bin, ...a], { env: b.env, stdoutTo: "pipe" });
  const ls = async (dir: string) => {
    const r = await timeCommand("bash", ["-c", `ls -l ${dir} | wc -l`], { env, stdoutTo: "pipe" });
    if (Number(r.stdout.trim()) !== FLAT + 1) throw new Error(`ls -l ${dir} listed ${r.stdout.trim()} lines`);
    return r.seconds;
  };
  /** Cold then warm listings of a fresh mount, with its server's CPU during the cold one. */
  const listCold = async (pid: number, mnt: string): Promise<Listing> => {
    const cpu0 = processCpuSeconds(pid) ?? NaN;
    const cold = await ls(`${mnt}/flat`);
    const daemonCpu = (processCpuSeconds(pid) ?? NaN) - cpu0;
    return { cold, warm: await ls(`${mnt}/flat`), daemonCpu };
  };
  const local = join(scratch, "installed-flat");
  const floorMnt = join(scratch, "floor");
  const loadStart = loadLine();
  const started = Date.now();
  const builds: Build[] = [];
  try {
    console.error(`generating ${FLAT} entries in one directory under ${scratch}`);
    await pushBigPackage(registry, NAME, { files: FLAT, perDir: 1000, flat: FLAT }, "v1");
    await writeLocalCopy(local);
    await mkdir(floorMnt);
    const libfuse = buildLibfuseFloor(scratch);
    const libfuse3 = buildLibfuseFloor(scratch, 3);
    const floors: Floor[] = [
      {
        kind: "binding",
        label: "the binding alone (answers from arrays, no logic)",
        start: () => startBindingFloor(floorMnt, FLAT),
      },
      ...(libfuse
        ? [false, true].map((single): Floor => ({
            kind: single ? "libfuse2-single" : "libfuse2",
            label: `libfuse 2 in C, no Node, ${single ? "one-thread loop (-s)" : "multi-threaded loop"}`,
            start: () => startLibfuseFloor(libfuse, floorMnt, FLAT, single),
          }))
        : []),
      ...(libfuse3
        ? [
            {
              kind: "libfuse3-plus" as const,
              label: "libfuse 3 in C with READDIRPLUS, no Node, multi-threaded loop",
              start: () => startLibfuseFloor(libfuse3, floorMnt, FLAT, false, 3),
            },
          ]
        : []),
    ];
    const sources = [{ label: "this build", bin: QUILT_BIN }];
    if (args.before)
      sources.push({
        label: `before (${checkoutName(args.before)})`,
        bin: join(args.before, "bin", "quilt.js"),
      });
    for (const [k, src] of sources.entries()) {
      const dir = join(scratch, `build${k}`);
      const b = {
        ...src,
        mnt: join(dir, "mnt"),
        env: { ...env, QUILT_STATE_DIR: join(dir, "state"), QUILT_CACHE_DIR: join(dir, "cache") },
      };
      await mkdir(b.mnt, { recursive: true });
      await quilt(b, "daemon", "start");
      const pid = Number(readFileSync(join(dir, "state", "daemon", "daemon.pid"), "utf8").trim());
      builds.push({ ...b, pid });
      await quilt(b, "mount", `${NAME}:v1`, b.mnt);
    }
    const rounds: Round[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const listings: Listing[] = [];
      for (const b of builds) {
        // A fresh mount: the kernel has no entry of the directory's children yet.
        await quilt(b, "unmount", b.mnt);
        await quilt(b, "mount", `${NAME}:v1`, b.mnt);
        listings.push(await listCold(b.pid, b.mnt));
      }
      // The floors, each freshly mounted every round like the builds.
      const floorListings: Listing[] = [];
      for (const floor of floors) {
        const m = await floor.start();
        try {
          floorListings.push(await listCold(m.pid, floorMnt));
        } finally {
          await m.stop();
        }
      }
      rounds.push({ local: await ls(local), builds: listings, floors: floorListings });
      const said = listings.map(
        (l, k) =>
          `${builds[k]?.label}: cold ${fmtSeconds(l.cold)}, warm ${fmtSeconds(l.warm)}, daemon CPU ${fmtSeconds(l.daemonCpu)}`,
      );
      for (const [k, l] of floorListings.entries())
        said.push(
          `${floors[k]?.label}: cold ${fmtSeconds(l.cold)}, warm ${fmtSeconds(l.warm)}, CPU ${fmtSeconds(l.daemonCpu)}`,
        );
      console.error(
        `round ${r + 1}: ${said.join("; ")}; local ${fmtSeconds(rounds[r]?.local ?? NaN)}; load ${loadLine()}`,
      );
    }
    const perFileUs = (s: number) => ((s / FLAT) * 1e6).toFixed(0);
    const localMed = median(rounds.map((r) => r.local));
    const listed: { label: string; of: (r: Round) => Listing; cpu: string }[] = [
      ...builds.map((b, k) => ({
        label: b.label,
        of: (r: Round) => r.builds[k] as Listing,
        cpu: "daemon CPU",
      })),
      ...floors.map((f, k) => ({
        label: f.label,
        of: (r: Round) => r.floors[k] as Listing,
        cpu: "its process's CPU",
      })),
    ];
    const rows = listed.flatMap(({ label, of: listing, cpu }) => {
      const of = (f: (l: Listing) => number) => rounds.map((r) => f(listing(r)));
      const ratio = (f: (l: Listing) => number) => rounds.map((r) => f(listing(r)) / r.local);
      const row = (what: string, f: (l: Listing) => number, goal: string) =>
        `| ${label}: ${what} | ${fmtSeconds(median(of(f)))} | ${perFileUs(median(of(f)))} µs | **${median(ratio(f)).toFixed(1)}×** (${ratio(
          f,
        )
          .map((x) => x.toFixed(1))
          .join(", ")}) | ${goal} |`;
      return [
        row("mount, cold (fresh mount)", (l) => l.cold, "≤ 3×"),
        row("mount, warm (kernel caches hold every entry)", (l) => l.warm, "≤ 3×"),
        `| ${label}: ${cpu} during the cold listing | ${fmtSeconds(median(of((l) => l.daemonCpu)))} | ${perFileUs(median(of((l) => l.daemonCpu)))} µs |  |  |`,
      ];
    });
    const section = [
      START,
      "## `ls -l` of a large directory (scripts/bench-ls.ts)",
      "",
      `- Machine: ${machineLine()}; shared with other work: load average at start ${loadStart}, at end ${loadLine()}`,
      `- ${today()}, ${commitLine()}; one directory of ${FLAT.toLocaleString("en")} entries, generated manifest in a local registry, mounted by a running daemon (from its manifest index); the local copy is the same names and sizes as sparse files; ${ROUNDS} rounds, each: per build, remount, \`ls -l\` of the mount (cold), again (warm); the same on a fresh mount of the binding-floor filesystem; then the local copy; medians, each round's ratio to that round's local listing in brackets; whole script ${((Date.now() - started) / 60000).toFixed(1)} min`,
      "",
      "| `ls -l` | time | per file | vs the local copy | goal |",
      "|---|---|---|---|---|",
      ...rows,
      `| local copy (baseline) | ${fmtSeconds(localMed)} | ${perFileUs(localMed)} µs | 1.0× |  |`,
      "",
      lsProse({
        floors: floors.map((f, k) => ({
          kind: f.kind,
          label: f.label,
          coldUs: (median(rounds.map((r) => (r.floors[k] as Listing).cold)) / FLAT) * 1e6,
          ratio: median(rounds.map((r) => (r.floors[k] as Listing).cold / r.local)),
        })),
        ours: {
          coldUs: (median(rounds.map((r) => (r.builds[0] as Listing).cold)) / FLAT) * 1e6,
          ratio: median(rounds.map((r) => (r.builds[0] as Listing).cold / r.local)),
        },
        localUs: (localMed / FLAT) * 1e6,
      }),
      END,
    ].join("\n");
    console.log(section);
    if (!args["no-write"]) await writeSection(START, END, section);
  } finally {
    for (const b of builds) {
      await quilt(b, "daemon", "stop").catch(() => undefined);
      spawnSync("fusermount", ["-uz", b.mnt]);
    }
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The section's prose: what a listing costs, and where the cold listing's time goes (medians of the rounds). */
function lsProse(m: {
  floors: { kind: FloorKind; label: string; coldUs: number; ratio: number }[];
  ours: { coldUs: number; ratio: number };
  localUs: number;
}): string {
  const ours = m.ours;
  const floor = (kind: FloorKind) => m.floors.find((f) => f.kind === kind);
  const [binding, multi, single, plus] = [
    floor("binding"),
    floor("libfuse2"),
    floor("libfuse2-single"),
    floor("libfuse3-plus"),
  ];
  const per = (f: { coldUs: number; ratio: number }) =>
    `${f.coldUs.toFixed(0)} µs per name (${f.ratio.toFixed(1)}×)`;
  return [
    "What a listing costs: `ls -l` reads the directory, then for every name calls statx, lgetxattr(security.selinux) and getxattr(system.posix_acl_access). The mount answers names outside the user.* namespace with EOPNOTSUPP, so ls asks them once per listing (coreutils remembers an unsupported filesystem by st_dev). The mount runs on libfuse 3's high-level API (fuse-napi, with our patch, patches/): each readdir request is answered with a page of names and their attributes from the children table, at offsets, which the kernel takes as READDIRPLUS and fills its entry and attribute caches from, so the statx of each name is answered by the kernel and no LOOKUP per name reaches the daemon (on libfuse 2, which has no READDIRPLUS, each one did: two thread hand-offs per name). Cold, the daemon is asked once per page (as many entries as the kernel's buffer holds; each page sized from how many fitted in the last one). Warm, the kernel answers statx from its caches (one hour: a version never changes, and `quilt switch` invalidates them) and only the directory's pages are read again.",
    binding
      ? `Where a cold listing's time goes: against the local copy's ${m.localUs.toFixed(0)} µs per name, the daemon's mount costs ${per(ours)}; the binding alone, a filesystem answering the same pages from arrays built before it mounted (scripts/bench-binding-floor.ts, same binding, mount options, paging and Node options as the daemon), ${per(binding)}${binding.ratio > 3 ? ": the 3× goal is below what a filesystem on this binding reaches here" : ""}; ${ours.coldUs > binding.coldUs ? `the daemon adds ${(ours.coldUs - binding.coldUs).toFixed(0)} µs per name to that floor (the attributes of each entry from the version's tree, and their conversion for the binding)` : "the daemon's own work (the attributes of each entry from the version's tree) does not show above that floor's variation here"}.${plus ? ` Without Node, libfuse 3 answering the same listing in C with READDIRPLUS (scripts/libfuse3-floor.c, its low-level API) costs ${per(plus)}: the rest of the binding's floor is the hand-off of each page from a libfuse thread to the event loop and back, and the conversion of its attributes.` : ""}${multi && single ? ` For comparison, libfuse 2 answering one lookup per name in C, without Node (scripts/libfuse-floor.c), costs ${per(multi)} in its multi-threaded loop and ${per(single)} in its one-thread loop: what the listing cost before READDIRPLUS even without the hand-off to JavaScript.` : ""}`
      : "",
  ].join(" ");
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
