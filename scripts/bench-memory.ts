// A daemon's memory as /proc tells it apart, for benchmarks: RSS is heap and stacks
// (RssAnon), pages of files mapped into the process (RssFile: LMDB maps its index files
// there, pages the kernel may drop and read again) and shared memory (RssShmem). VmHWM
// only has the peak of their sum, so a sampler polls the parts while a step runs and keeps
// each one's peak.
import { readFileSync } from "node:fs";

export interface MemoryParts {
  /** VmRSS: what monitoring shows. */
  rss: number;
  anon: number;
  file: number;
  shmem: number;
}

const FIELDS = { rss: "VmRSS", anon: "RssAnon", file: "RssFile", shmem: "RssShmem" } as const;

/** The process's RSS and its parts now, in MiB (NaN when the process is gone). */
export function memoryParts(pid: number): MemoryParts {
  let status = "";
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    // gone: every part is NaN
  }
  const kib = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    return m ? Number(m[1]) / 1024 : NaN;
  };
  return {
    rss: kib(FIELDS.rss),
    anon: kib(FIELDS.anon),
    file: kib(FIELDS.file),
    shmem: kib(FIELDS.shmem),
  };
}

/** Polls a process's memory until stopped, keeping each part's peak (the sum's peak is VmHWM). */
export class MemorySampler {
  readonly peak: MemoryParts = { rss: 0, anon: 0, file: 0, shmem: 0 };
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    everyMs = 100,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  /** Stops polling; the peaks, with a last sample taken. */
  stop(): MemoryParts {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }

  private sample(): void {
    const now = memoryParts(this.pid);
    for (const k of Object.keys(this.peak) as (keyof MemoryParts)[])
      if (now[k] > this.peak[k]) this.peak[k] = now[k];
  }
}

/** "RSS 386 MiB (anon 120, file 266)" */
export function fmtMemory(m: MemoryParts): string {
  return `${m.rss.toFixed(0)} MiB (anon ${m.anon.toFixed(0)}, file ${m.file.toFixed(0)}${m.shmem >= 1 ? `, shmem ${m.shmem.toFixed(0)}` : ""})`;
}

/** /proc/PID/smaps_rollup's lines, for a log: Rss, Pss, Anonymous, Shared/Private_Clean and the rest. */
export function smapsRollup(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  } catch {
    return "";
  }
}

/**
 * Resident MiB of the mappings of files whose path contains `pathPart` (/proc/PID/smaps): with
 * lmdb-js's remapChunks an index is mapped in many chunks, each its own mapping.
 */
export function mappedFileMiB(pid: number, pathPart: string): number {
  let smaps = "";
  try {
    smaps = readFileSync(`/proc/${pid}/smaps`, "utf8");
  } catch {
    return NaN;
  }
  let kib = 0;
  let counting = false;
  for (const line of smaps.split("\n")) {
    // A mapping's header: address range, perms, offset, device, inode, then its path.
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) counting = line.includes(pathPart);
    else if (counting && line.startsWith("Rss:")) kib += Number(/(\d+)/.exec(line)?.[1] ?? 0);
  }
  return kib / 1024;
}
