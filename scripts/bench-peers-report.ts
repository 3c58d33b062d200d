// Turns scripts/bench-peers.ts's samples into its Markdown tables (one per workload: each
// reader's median with every run, bytes fetched, the serving process's CPU and peak RSS,
// and the speed of ours against the best peer) and into the chart's input. The chart
// itself is drawn by matplotlib in the bench venv (scripts/bench-peers-readers.py chart):
// no npm dependency for one PNG, and it is already there for the DataLoader's torch.
import type { MountName } from "./bench-peers-mounts.js";
import {
  RANDOM_READS,
  WORKLOAD_PHASES,
  type Phase,
  type PhaseKey,
  type Sample,
  type Tool,
  type WorkloadId,
} from "./bench-peers-workloads.js";
import { median, MiB } from "./bench-support.js";

export { median };

export type Results = Map<PhaseKey, Map<Tool, Sample[]>>;

export const OURS: MountName = "quilt mount";
/** The others ours is compared with; the local copy is a baseline, not a peer. */
export const PEERS: Tool[] = ["rclone mount", "s3fs", "aws s3 cp"];
export const ALL_TOOLS: Tool[] = [OURS, ...PEERS, "local copy"];

export const WORKLOAD_TITLES: Record<WorkloadId, string> = {
  seq: "1. Sequential read of one large file (`dd bs=1M`)",
  stat: "2. `find -type f -exec stat {} +` over the small-file tree, cold",
  par: "3. Every small file read whole by parallel readers",
  rand: "4. Random 4 KiB reads in the large file, cold",
  loader: "5. PyTorch DataLoader over the small files (raw bytes)",
};

/** Larger is better for both: samples/s for the loader, 1/seconds for everything else. */
function speed(s: Sample): number {
  return s.rate ?? 1 / s.seconds;
}

function samples(r: Results, key: PhaseKey, tool: Tool): Sample[] {
  return r.get(key)?.get(tool) ?? [];
}

export function medianSpeed(r: Results, key: PhaseKey, tool: Tool): number | undefined {
  const xs = samples(r, key, tool);
  return xs.length ? median(xs.map(speed)) : undefined;
}

/** Our median speed over the best peer's (>1: ours faster), and which peer that is. */
export function vsBestPeer(r: Results, key: PhaseKey): { ratio: number; peer: Tool } | undefined {
  const ours = medianSpeed(r, key, OURS);
  let best: { v: number; peer: Tool } | undefined;
  for (const p of PEERS) {
    const v = medianSpeed(r, key, p);
    if (v !== undefined && (!best || v > best.v)) best = { v, peer: p };
  }
  return ours !== undefined && best ? { ratio: ours / best.v, peer: best.peer } : undefined;
}

const f2 = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

function cell(r: Results, w: WorkloadId, p: Phase, tool: Tool, largeBytes: number, files: number): string {
  const xs = samples(r, `${w} ${p}`, tool);
  if (xs.length === 0) return "–";
  if (w === "loader") {
    const rates = xs.map((s) => s.rate ?? 0);
    return `**${f2(median(rates))}**/s (${rates.map(f2).join(", ")})`;
  }
  const secs = xs.map((s) => s.seconds);
  const m = median(secs);
  const extra =
    w === "seq"
      ? `, ${(largeBytes / MiB / m).toFixed(0)} MiB/s`
      : w === "par"
        ? `, ${f2(files / m)} files/s`
        : w === "rand"
          ? `, ${((m / RANDOM_READS) * 1000).toFixed(2)} ms/read`
          : "";
  return `**${f2(m)} s**${extra} (${secs.map(f2).join(", ")})`;
}

/** Median MiB fetched through the proxy, and the serving process's median CPU s and largest peak RSS, in the first phase. */
function costCell(r: Results, key: PhaseKey, tool: Tool): string {
  const xs = samples(r, key, tool);
  if (xs.length === 0) return "–";
  const fetched = `${f2(median(xs.map((s) => s.fetchedBytes)) / MiB)} MiB`;
  const cpus = xs.flatMap((s) => (s.cpu === undefined ? [] : [s.cpu]));
  const rss = xs.flatMap((s) => (s.rssMiB === undefined ? [] : [s.rssMiB]));
  const proc = cpus.length ? ` · ${f2(median(cpus))} CPU s · ${Math.max(...rss).toFixed(0)} MiB RSS` : "";
  return fetched + proc;
}

function ratioCell(r: Results, key: PhaseKey): string {
  const v = vsBestPeer(r, key);
  return v ? `**${v.ratio.toFixed(2)}×** vs ${v.peer}` : "–";
}

/** One Markdown table per workload that was run: readers as rows, phases as columns. */
export function workloadTable(r: Results, w: WorkloadId, largeBytes: number, files: number): string[] {
  const phases = WORKLOAD_PHASES[w];
  const tools = ALL_TOOLS.filter((t) => phases.some((p) => samples(r, `${w} ${p}`, t).length > 0));
  if (tools.length === 0) return [];
  const unit = w === "loader" ? "samples/s, median (runs)" : "time, median (runs)";
  const head = `| reader | ${phases.map((p) => `${p}: ${unit}`).join(" | ")} | ${phases[0]}: fetched · serving process CPU · peak RSS |`;
  return [
    `### ${WORKLOAD_TITLES[w]}`,
    "",
    head,
    `|${"---|".repeat(phases.length + 2)}`,
    ...tools.map(
      (t) =>
        `| ${t} | ${phases.map((p) => cell(r, w, p, t, largeBytes, files)).join(" | ")} | ${costCell(r, `${w} ${phases[0] as Phase}`, t)} |`,
    ),
    `| **ours vs best peer** (speed, >1: ours faster) | ${phases.map((p) => ratioCell(r, `${w} ${p}`)).join(" | ")} | |`,
    "",
  ];
}

export interface ChartData {
  title: string;
  peers: Tool[];
  phases: { label: string; ratios: Partial<Record<Tool, number>> }[];
}

/** Our speed over each other reader's, per workload phase: what the PNG plots. */
export function chartData(r: Results, workloads: WorkloadId[], title: string): ChartData {
  const others = [...PEERS, "local copy" as Tool].filter((t) =>
    workloads.some((w) => WORKLOAD_PHASES[w].some((p) => samples(r, `${w} ${p}`, t).length > 0)),
  );
  const phases: ChartData["phases"] = [];
  for (const w of workloads) {
    for (const p of WORKLOAD_PHASES[w]) {
      const key: PhaseKey = `${w} ${p}`;
      const ours = medianSpeed(r, key, OURS);
      if (ours === undefined) continue;
      const ratios: Partial<Record<Tool, number>> = {};
      for (const t of others) {
        const v = medianSpeed(r, key, t);
        if (v !== undefined) ratios[t] = ours / v;
      }
      phases.push({ label: key, ratios });
    }
  }
  return { title, peers: others, phases };
}
