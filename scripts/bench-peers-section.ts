// The Markdown section scripts/bench-peers.ts writes into docs/BENCHMARKS.md: what was
// measured and how (machine, versions, flags, load), the chart, one table per workload, and
// a list of where our mount is slower than the best peer, derived from the same medians so
// the text can never disagree with the tables.
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { daemonNodeOptions } from "../src/daemon/lifecycle.js";
import { commitLine, machineLine, MiB } from "./bench-support.js";
import type { PeerVersions } from "./bench-peers-setup.js";
import {
  LOADER_BATCH,
  LOADER_WORKERS,
  PAR_READERS,
  RANDOM_READS,
  WORKLOAD_PHASES,
  type PhaseKey,
  type Tool,
  type WorkloadId,
} from "./bench-peers-workloads.js";
import { median, OURS, vsBestPeer, workloadTable, type Results } from "./bench-peers-report.js";

export interface SectionInput {
  start: string;
  end: string;
  results: Results;
  workloads: WorkloadId[];
  versions: PeerVersions;
  torch: string | undefined;
  notes: string[];
  largeMiB: number;
  files: number;
  runs: number;
  loadStart: string;
  loadEnd: string;
  minutes: number;
  date: string;
  /** File name of the chart next to BENCHMARKS.md, when one was drawn there. */
  chart: string | undefined;
  /** The FUSE readers that passed the check and were timed. */
  tools: string[];
}

function fsType(path: string): string {
  return (
    spawnSync("findmnt", ["-no", "FSTYPE", "-T", path], { encoding: "utf8" }).stdout?.trim() || "unknown"
  );
}

const SHORT: Record<WorkloadId, string> = {
  seq: "sequential read of the large file",
  stat: "find + stat over the tree",
  par: "small files by parallel readers",
  rand: "random 4 KiB reads",
  loader: "DataLoader",
};

/** Each phase where our median is slower than the best peer's, slowest first. */
function losses(r: Results, workloads: WorkloadId[]): string[] {
  const out: { key: PhaseKey; ratio: number; peer: Tool }[] = [];
  for (const w of workloads) {
    for (const p of WORKLOAD_PHASES[w]) {
      const key: PhaseKey = `${w} ${p}`;
      const v = vsBestPeer(r, key);
      if (v && v.ratio < 1) out.push({ key, ratio: v.ratio, peer: v.peer });
    }
  }
  return out
    .sort((a, b) => a.ratio - b.ratio)
    .map(
      (l) =>
        `- ${SHORT[l.key.split(" ")[0] as WorkloadId]}, ${l.key.split(" ")[1]}: ours runs at ${l.ratio.toFixed(2)}× the speed of ${l.peer} (${(1 / l.ratio).toFixed(1)}× its time); ${costs(r, l.key, OURS)} against ${costs(r, l.key, l.peer)}`,
    );
}

/** What a reader spent in a phase (medians): bytes fetched, and CPU of the process serving the mount. */
function costs(r: Results, key: PhaseKey, tool: Tool): string {
  const xs = r.get(key)?.get(tool) ?? [];
  const cpus = xs.flatMap((x) => (x.cpu === undefined ? [] : [x.cpu]));
  const fetched = `fetched ${(median(xs.map((x) => x.fetchedBytes)) / MiB).toFixed(0)} MiB`;
  return `${tool === OURS ? "ours" : tool} ${fetched}${cpus.length ? `, ${median(cpus).toFixed(1)} CPU s in its process` : ""}`;
}

export function section(s: SectionInput): string {
  const v = s.versions;
  const small = s.workloads.filter((w) => w !== "seq" && w !== "rand").length > 0;
  const validation = s.largeMiB < 1024 || s.files < 5000 || s.runs < 3;
  const lost = losses(s.results, s.workloads);
  const tables = s.workloads.flatMap((w) => workloadTable(s.results, w, s.largeMiB * 1024 * 1024, s.files));
  return [
    s.start,
    "## `quilt mount` side by side with rclone, s3fs and awscli (scripts/bench-peers.ts)",
    "",
    ...(validation
      ? [
          `**Small-size validation run (${s.largeMiB} MiB, ${s.files} files, ${s.runs} run(s)), not the benchmark: it shows that the script works end to end; its numbers are not the comparison.**`,
          "",
        ]
      : []),
    `- Machine: ${machineLine()}; scratch and local copy on ${fsType(tmpdir())}`,
    `- Date: ${s.date}; load average at start ${s.loadStart}, at end ${s.loadEnd} (the machine is shared, so other work may run alongside); ${s.runs} run(s) of every reader per workload, medians with every run in brackets; whole script ${s.minutes.toFixed(1)} min`,
    `- Data: one package pushed by our library to one s3rver 3.7.1 bucket (file-backed, its own process, loopback): one ${s.largeMiB} MiB file of random bytes${small ? ` and ${s.files} files of 100 KiB in directories of 100, two levels deep` : ""}. rclone and s3fs read the package's objects under its key prefix; s3rver leaves a folder holding only subfolders out of delimiter listings, so an empty marker object (key ending in "/") stands for each. Before every cold read the server's files for that workload are read once, so it serves from memory as S3 would`,
    '- Every reader reaches s3rver through one counting HTTP proxy (Node, loopback); "fetched" is the GET response body bytes through it during the measurement (random reads: until 2 s after the last read)',
    `- quilt mount: the daemon of ${commitLine()}, from dist/, run with ${daemonNodeOptions().join(" ") || "no V8 options"} on this machine, own QUILT_STATE_DIR and QUILT_CACHE_DIR, \`--cache-size 4G\`; cold empties the block cache and the LMDB index`,
    `- rclone mount: ${v.rclone ?? "not available"}; \`--vfs-cache-mode full --read-only --cache-dir DIR\`, otherwise defaults, s3 remote (provider Other) from environment variables; cold empties DIR`,
    `- s3fs: ${v.s3fs ?? "not available"}; \`-f -o use_cache=DIR,use_path_request_style,ro,url=...\`, keys in a mode-600 passwd file; cold empties DIR`,
    `- aws: ${v.aws ? `${v.aws.version} (\`${v.aws.path}\`, first on PATH)` : "not available"}; its own HOME. Only where it has an equivalent: \`s3 cp KEY -\` to /dev/null (1), \`s3 ls --recursive\` (2), \`s3 cp --recursive\` to a local directory (3); it has no ranged reads or loader`,
    "- Cold: tool's cache emptied, freshly mounted, page cache dropped (`sync; echo 3 > /proc/sys/vm/drop_caches`). Warm: the tool stopped and mounted again over its full disk cache, page cache dropped. Hot: read again at once. The local copy has no tool cache: its cold and warm are both the read after dropping the page cache",
    `- Commands: (1) \`dd if=FILE of=/dev/null bs=1M\`; (2) \`find DIR -type f -exec stat {} +\`; (3) \`xargs -P ${PAR_READERS} -n 64 cat\` over the list of files; (4) ${RANDOM_READS} \`os.pread\`s of 4 KiB at 4 KiB-aligned offsets (seed 42; ${((RANDOM_READS * 4) / 1024).toFixed(1)} MiB read in all), timed in Python; (5) torch ${s.torch ?? "(not installed)"} \`DataLoader\` (${LOADER_WORKERS} workers, batch ${LOADER_BATCH}, shuffled with seed 0, raw bytes, no decoding), timed in Python from the first batch requested to the last received. (1)-(3) are timed from spawn to exit`,
    "- Serving process: CPU seconds (/proc/PID/stat utime+stime, before and after) and peak RSS (VmHWM, since that process started) of our daemon, rclone or s3fs, in the first phase of the workload",
    ...(s.notes.length ? [`- Notes: ${s.notes.join("; ")}`] : []),
    "",
    ...(s.chart
      ? [
          `![quilt mount's speed over each other reader's, per workload (log scale; above 1: ours faster)](${s.chart})`,
          "",
        ]
      : []),
    ...tables,
    ...(lost.length
      ? ["Where ours is slower than the best peer (medians):", "", ...lost]
      : ["Ours is at least as fast as the best peer in every phase measured (medians)."]),
    s.end,
  ].join("\n");
}
