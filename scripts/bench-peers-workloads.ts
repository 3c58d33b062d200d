// The five workloads of scripts/bench-peers.ts, each run the same way against every FUSE
// reader's mount point, the plain local copy, and (where it has an equivalent) `aws s3 cp`.
// Every read is a child process (dd, find, xargs cat, or the Python readers in
// scripts/bench-peers-readers.py), never code in this process. Around each measurement the proxy's counters and the serving process's
// CPU time and peak RSS are read, so bytes fetched and resources are measured alike for all.
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import {
  dropPageCache,
  lastJson,
  peakRssMiB,
  processCpuSeconds,
  REPO_ROOT,
  timeCommand,
} from "./bench-support.js";
import { LARGE, SMALL_DIR, warmServer, type Dataset } from "./bench-peers-data.js";
import type { MountName, MountTool } from "./bench-peers-mounts.js";
import { trafficDelta, type CountingProxy } from "./bench-peers-proxy.js";

export type Tool = MountName | "aws s3 cp" | "local copy";
export type WorkloadId = "seq" | "stat" | "par" | "rand" | "loader";
export type Phase = "cold" | "warm" | "hot";
export type PhaseKey = `${WorkloadId} ${Phase}`;

export const WORKLOAD_PHASES: Record<WorkloadId, Phase[]> = {
  seq: ["cold", "warm", "hot"],
  stat: ["cold"],
  par: ["cold", "warm"],
  rand: ["cold"],
  loader: ["cold", "warm"],
};

/** Parallel readers of the small files, and the DataLoader's shape. */
export const PAR_READERS = 8;
export const LOADER_WORKERS = 4;
export const LOADER_BATCH = 32;
export const RANDOM_READS = 2000;
const RANDOM_SEED = 42;
/** How long after the random reads the proxy keeps counting a tool's traffic. */
const SETTLE_MS = 2000;
const READERS_PY = join(REPO_ROOT, "scripts", "bench-peers-readers.py");

export interface Sample {
  seconds: number;
  /** Samples per second (the loader). */
  rate?: number;
  /** Body bytes of GETs through the proxy during the measurement. */
  fetchedBytes: number;
  requests: Record<string, number>;
  /** CPU seconds of the process serving the mount during the measurement. */
  cpu?: number;
  /** Its peak RSS since it started (VmHWM), MiB. */
  rssMiB?: number;
}

export interface RunContext {
  tools: MountTool[];
  data: Dataset;
  serverData: string;
  bucket: string;
  prefix: string;
  proxy: CountingProxy;
  scratch: string;
  aws?: { path: string; env: NodeJS.ProcessEnv };
  /** Interpreter for the Python readers; `torch` false skips the loader. */
  python: string;
  torch: boolean;
  record(phase: PhaseKey, tool: Tool, s: Sample): void;
  note(text: string): void;
}

/** One timed read, with the proxy's traffic and the serving process's CPU and RSS around it. */
async function measure(
  ctx: RunContext,
  pid: number | undefined,
  run: () => Promise<{ seconds: number; rate?: number }>,
  settleMs = 0,
): Promise<Sample> {
  const before = await ctx.proxy.snapshot();
  const cpu0 = processCpuSeconds(pid);
  const r = await run();
  // Fetches a tool goes on with after the reader is done (read-ahead, prefetch) are its traffic too.
  if (settleMs > 0) await new Promise((res) => setTimeout(res, settleMs));
  const cpu1 = processCpuSeconds(pid);
  const d = trafficDelta(before, await ctx.proxy.snapshot());
  const s: Sample = { ...r, fetchedBytes: d.getBytes, requests: d.requests };
  if (cpu0 !== undefined && cpu1 !== undefined) s.cpu = cpu1 - cpu0;
  const rss = peakRssMiB(pid);
  if (rss !== undefined) s.rssMiB = rss;
  return s;
}

async function sh(script: string, ...args: string[]): Promise<{ seconds: number }> {
  const r = await timeCommand("sh", ["-c", script, "sh", ...args], { stdoutTo: "ignore" });
  return { seconds: r.seconds };
}

async function python(ctx: RunContext, ...args: string[]): Promise<{ seconds: number; rate?: number }> {
  const r = await timeCommand(ctx.python, [READERS_PY, ...args]);
  const out = lastJson<{ seconds: number; samples?: number }>(r.stdout);
  return { seconds: out.seconds, ...(out.samples !== undefined && { rate: out.samples / out.seconds }) };
}

/** The read each workload does under `root` (a mount point or the local copy). */
function reader(
  ctx: RunContext,
  w: WorkloadId,
  root: string,
): () => Promise<{ seconds: number; rate?: number }> {
  switch (w) {
    case "seq":
      return () => sh('dd if="$1" of=/dev/null bs=1M 2>/dev/null', join(root, LARGE));
    case "stat":
      return () => sh('find "$1" -type f -exec stat {} + > /dev/null', join(root, SMALL_DIR));
    case "par":
      return () =>
        sh(
          `cd "$1" && xargs -a "$2" -d '\\n' -P ${PAR_READERS} -n 64 cat > /dev/null`,
          root,
          ctx.data.listFile,
        );
    case "rand":
      return () => python(ctx, "random", join(root, LARGE), String(RANDOM_READS), String(RANDOM_SEED));
    case "loader":
      return () =>
        python(ctx, "loader", root, ctx.data.listFile, String(LOADER_WORKERS), String(LOADER_BATCH));
  }
}

/** What `aws s3` does in place of each workload, where it has one (no ranged reads, no loader). */
function awsReader(ctx: RunContext, w: WorkloadId): (() => Promise<{ seconds: number }>) | undefined {
  const aws = ctx.aws;
  if (!aws) return undefined;
  const url = (rel: string) => `s3://${ctx.bucket}/${ctx.prefix}/${rel}`;
  const endpoint = ctx.proxy.endpoint;
  const run = async (args: string[], stdoutTo: "ignore" | "pipe" = "ignore") => {
    const r = await timeCommand(aws.path, ["--endpoint-url", endpoint, ...args], { env: aws.env, stdoutTo });
    return { seconds: r.seconds };
  };
  const out = join(ctx.scratch, "aws-out");
  switch (w) {
    case "seq":
      return () => run(["s3", "cp", url(LARGE), "-"]);
    case "stat":
      return () => run(["s3", "ls", "--recursive", url(`${SMALL_DIR}/`)]);
    case "par":
      return async () => {
        await rm(out, { recursive: true, force: true });
        await mkdir(out, { recursive: true });
        const r = await run(["s3", "cp", "--recursive", "--quiet", url(`${SMALL_DIR}/`), out]);
        await rm(out, { recursive: true, force: true });
        return r;
      };
    default:
      return undefined;
  }
}

/** Cold for everyone: page cache dropped, and the server's files for this workload read once so it serves from memory. */
function prepareCold(ctx: RunContext, w: WorkloadId): void {
  dropPageCache();
  warmServer(ctx.serverData, ctx.bucket, ctx.prefix, w === "seq" || w === "rand" ? "large" : "small");
}

async function attempt(ctx: RunContext, label: string, f: () => Promise<void>): Promise<void> {
  try {
    await f();
  } catch (err) {
    const first = (err instanceof Error ? err.message : String(err))
      .split("\n")
      .filter(Boolean)
      .slice(0, 3)
      .join(" / ");
    ctx.note(`${label} failed: ${first}`);
    console.error(`  ${label} FAILED: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * One run of workload `w` for every reader: each mount cold, then warm (remounted over its
 * disk cache) and hot where the workload has them.
 */
export async function runWorkload(ctx: RunContext, w: WorkloadId, run: number): Promise<void> {
  const phases = WORKLOAD_PHASES[w];
  // Rotating who goes first, so no tool always reads right after the same other one.
  const tools = ctx.tools.map((_, i) => ctx.tools[(i + run) % ctx.tools.length] as MountTool);
  for (const tool of tools) {
    await attempt(ctx, `${tool.name} ${w} run ${run + 1}`, async () => {
      try {
        await tool.mountCold();
        prepareCold(ctx, w);
        ctx.record(
          `${w} cold`,
          tool.name,
          await measure(ctx, tool.pid(), reader(ctx, w, tool.mountpoint), w === "rand" ? SETTLE_MS : 0),
        );
        if (phases.includes("warm")) {
          await tool.remount();
          dropPageCache();
          ctx.record(`${w} warm`, tool.name, await measure(ctx, tool.pid(), reader(ctx, w, tool.mountpoint)));
        }
        if (phases.includes("hot"))
          ctx.record(`${w} hot`, tool.name, await measure(ctx, tool.pid(), reader(ctx, w, tool.mountpoint)));
      } finally {
        await tool.unmount();
      }
    });
  }
  await attempt(ctx, `local copy ${w} run ${run + 1}`, async () => {
    // A local file has no tool cache: its cold and warm are both "page cache dropped".
    dropPageCache();
    const s = await measure(ctx, undefined, reader(ctx, w, ctx.data.local));
    for (const p of phases.filter((p) => p !== "hot")) ctx.record(`${w} ${p}`, "local copy", s);
    if (phases.includes("hot"))
      ctx.record(`${w} hot`, "local copy", await measure(ctx, undefined, reader(ctx, w, ctx.data.local)));
  });
  const aws = awsReader(ctx, w);
  if (aws) {
    await attempt(ctx, `aws s3 cp ${w} run ${run + 1}`, async () => {
      prepareCold(ctx, w);
      ctx.record(`${w} cold`, "aws s3 cp", await measure(ctx, undefined, aws));
    });
  }
}
