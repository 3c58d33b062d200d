// Benchmark (not a test) of what a `quilt` command costs before it does anything: the start
// of the process (node, the CLI's modules) for `quilt --help`, `quilt mounts`, a remount
// (`quilt unmount` + `quilt mount` of an indexed version, against a running daemon) and
// `quilt daemon start` (a new daemon, nothing to restore, until it answers its socket), next
// to `node -e 0` in the same run. With --baseline DIR (another checkout, built), the same
// commands of that checkout run interleaved with this one's, for a before/after in one run.
// Medians of --runs runs, wall and CPU (user + system, the daemon's own not included).
// Prints a Markdown section and writes it into docs/BENCHMARKS.md between its markers.
//
//   npx tsx scripts/bench-cli-start.ts [--runs 10] [--baseline ../other-checkout [--baseline-label "main at abc123"]] [--no-write]
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  commitLine,
  fmtSeconds,
  intOption,
  loadLine,
  machineLine,
  median,
  QUILT_BIN,
  timeCommand,
  today,
  writeSection,
} from "./bench-support.js";

const START = "<!-- bench-cli-start:start -->";
const END = "<!-- bench-cli-start:end -->";
const PACKAGE = "bench/start";

const { values: args } = parseArgs({
  options: {
    runs: { type: "string" },
    baseline: { type: "string" },
    "baseline-label": { type: "string" },
    "no-write": { type: "boolean", default: false },
  },
});
const RUNS = intOption(args.runs, "BENCH_RUNS", 10);

interface Sample {
  wall: number[];
  cpu: number[];
}

/** One checkout's `quilt`, with a state and cache of its own (its own daemon). */
class Quilt {
  readonly env: NodeJS.ProcessEnv;

  constructor(
    readonly label: string,
    readonly bin: string,
    readonly root: string,
  ) {
    this.env = {
      ...process.env,
      QUILT_NO_LOG_FILE: "1",
      QUILT_STATE_DIR: join(root, "state"),
      QUILT_CACHE_DIR: join(root, "cache"),
    };
  }

  run(argv: string[], cwd = this.root) {
    return timeCommand(process.execPath, [this.bin, ...argv], { env: this.env, cwd, cpu: true });
  }
}

async function sample(
  out: Map<string, Sample>,
  key: string,
  f: () => ReturnType<Quilt["run"]>,
): Promise<void> {
  const s = out.get(key) ?? { wall: [], cpu: [] };
  const t = await f();
  s.wall.push(t.seconds);
  s.cpu.push(t.cpu ?? NaN);
  out.set(key, s);
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), "quilt-bench-start-"));
  const quilts = [new Quilt("this checkout", QUILT_BIN, join(root, "this"))];
  if (args.baseline)
    quilts.push(
      new Quilt(
        args["baseline-label"] ?? `baseline (${args.baseline})`,
        join(resolve(args.baseline), "bin", "quilt.js"),
        join(root, "base"),
      ),
    );
  const registry = join(root, "registry");
  const ws = join(root, "ws");
  await mkdir(ws, { recursive: true });
  await mkdir(registry, { recursive: true });
  await writeFile(join(ws, "a.txt"), "start\n");
  const first = quilts[0] as Quilt;
  await first.run(["init", PACKAGE, "--registry", registry], ws);
  await first.run(["add", "a.txt"], ws);
  await first.run(["push", "-m", "bench"], ws);
  const results = new Map<string, Sample>();
  try {
    for (const q of quilts) {
      await mkdir(join(q.root, "mnt"), { recursive: true });
      await q.run(["mount", PACKAGE, join(q.root, "mnt"), "--registry", registry]); // indexes it
    }
    for (let i = 0; i < RUNS; i++) {
      await sample(results, "node -e 0", () => timeCommand(process.execPath, ["-e", "0"], { cpu: true }));
      for (const q of quilts) {
        const mnt = join(q.root, "mnt");
        await sample(results, `${q.label}|quilt --help`, () => q.run(["--help"]));
        await sample(results, `${q.label}|quilt mounts`, () => q.run(["mounts"]));
        await sample(results, `${q.label}|quilt unmount`, () => q.run(["unmount", mnt]));
        await sample(results, `${q.label}|quilt mount`, () =>
          q.run(["mount", PACKAGE, mnt, "--registry", registry]),
        );
      }
    }
    for (const q of quilts) await q.run(["daemon", "stop"]);
    for (let i = 0; i < RUNS; i++)
      for (const q of quilts) {
        await sample(results, `${q.label}|quilt daemon start`, () => q.run(["daemon", "start"]));
        await q.run(["daemon", "stop"]);
      }
  } finally {
    for (const q of quilts) await q.run(["daemon", "stop"]).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }
  const section = render(results, quilts);
  console.log(section);
  if (!args["no-write"]) await writeSection(START, END, section);
}

function render(results: Map<string, Sample>, quilts: Quilt[]): string {
  const baseWall = median(results.get("node -e 0")?.wall ?? []);
  const cell = (key: string) => {
    const s = results.get(key);
    if (!s) return "–";
    const w = median(s.wall);
    return `${fmtSeconds(w)} (CPU ${fmtSeconds(median(s.cpu))}, ${(w / baseWall).toFixed(1)}x node)`;
  };
  const commands = ["quilt --help", "quilt mounts", "quilt unmount", "quilt mount", "quilt daemon start"];
  const rows = [
    `| command | ${quilts.map((q) => q.label).join(" | ")} |`,
    `|---|${quilts.map(() => "---|").join("")}`,
    `| \`node -e 0\` (baseline) | ${quilts.map((_, i) => (i === 0 ? cell("node -e 0") : "")).join(" | ")} |`,
    ...commands.map((c) => `| \`${c}\` | ${quilts.map((q) => cell(`${q.label}|${c}`)).join(" | ")} |`),
  ];
  return [
    START,
    "## Command start (scripts/bench-cli-start.ts)",
    "",
    `${today()}, ${machineLine()}, load average ${loadLine()}, ${commitLine()}. Medians of ${RUNS} runs, wall time from spawn to exit, ` +
      "and the command's CPU (user + system; a daemon's own CPU is not the command's); the checkouts' commands alternate within each run. `quilt mount` remounts a one-file " +
      "version of a local registry that the running daemon indexed before; `quilt daemon start` starts a daemon with " +
      "nothing to restore and returns once it answers its socket.",
    "",
    ...rows,
    END,
  ].join("\n");
}

await main();
