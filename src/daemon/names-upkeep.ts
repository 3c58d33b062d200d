// The daemon's memory bound for the names the kernel holds. libfuse's high-level API keeps a
// node (~150 bytes, plus its name) for every name the kernel has looked up or been given by a
// listing (READDIRPLUS) in a mount, and frees it only when the kernel forgets the name, which
// it does under memory pressure: on a large machine, never. Two walks of a million-entry version and a listing of a 100,000-entry
// directory in each of ten versions leave about 3 million of them, ~440 MiB of the daemon's
// anonymous memory (docs/BENCHMARKS.md, "Million-entry packages"). The binding gives no
// lookup or forget callbacks to do without those nodes, but the kernel takes invalidation
// notices: told to forget a mount's root-level names, it drops every unused dentry below
// them and sends FORGETs, and libfuse frees the nodes.
//
// So every few seconds the daemon reads its anonymous RSS and, above QUILT_NAMES_MEMORY, asks
// the kernel to forget the names of the mount that has been idle longest: one mount per check,
// again at the next check while still above. A mount that served a request within the last few
// checks is left alone (its names are in use), and so is one that served none since it was
// last forgotten (nothing to forget). Activity is one counter per mount, incremented per FUSE
// request and compared here at each check: no clock is read on the request path. Readers with
// open files keep their dentries and read on; the next lookup of a forgotten name asks the
// daemon again (one round trip).
import { readFileSync } from "node:fs";
import { log } from "../log.js";
import type { NamesStats } from "./ops.js";
import type { PackageMount } from "./package-mount.js";

/** How often the daemon checks its memory, ms: cheap (one read of /proc/self/status). */
export const NAMES_CHECK_MS = 2_000;
/**
 * A mount that served a request within this many checks (30 s) is not forgotten: a job
 * reading files or a user listing directories keeps its names; a mount left alone loses them.
 */
export const QUIET_CHECKS = 15;

interface Seen {
  /** The mount's request count at the last check. */
  requests: number;
  /** The check at which that count last changed. */
  activeAt: number;
  /** Its request count when it was last forgotten (-1: never). */
  forgottenAt: number;
}

export class NamesUpkeep {
  private readonly seen = new WeakMap<PackageMount, Seen>();
  private checks = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private forgettings = 0;

  constructor(
    /** Anonymous RSS above which names are forgotten, bytes (QUILT_NAMES_MEMORY). */
    readonly targetBytes: number,
    private readonly mounts: () => Iterable<PackageMount>,
    private readonly anonBytes: () => number | undefined = anonRss,
  ) {}

  /** Checks every `intervalMs` from now on (the timer does not keep the daemon alive). */
  start(intervalMs = NAMES_CHECK_MS): void {
    this.timer ??= setInterval(() => void this.check(), intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The bound, the memory it watches and what it did, for `quilt daemon status`. */
  stats(): NamesStats {
    return {
      targetBytes: this.targetBytes,
      anonBytes: this.anonBytes() ?? null,
      forgettings: this.forgettings,
    };
  }

  /** One check: notes each mount's activity, and forgets one idle mount's names when above the target. */
  async check(): Promise<PackageMount | undefined> {
    if (this.running) return undefined;
    this.running = true;
    try {
      return await this.checkOnce();
    } catch (err) {
      log().warn({ err }, "could not hold the kernel's names to the memory bound");
      return undefined;
    } finally {
      this.running = false;
    }
  }

  private async checkOnce(): Promise<PackageMount | undefined> {
    const now = ++this.checks;
    const candidates: { mount: PackageMount; activeAt: number }[] = [];
    for (const mount of this.mounts()) {
      const requests = mount.requests;
      let s = this.seen.get(mount);
      if (s === undefined) this.seen.set(mount, (s = { requests, activeAt: now, forgottenAt: -1 }));
      else if (s.requests !== requests) Object.assign(s, { requests, activeAt: now });
      if (now - s.activeAt >= QUIET_CHECKS && s.forgottenAt !== requests)
        candidates.push({ mount, activeAt: s.activeAt });
    }
    if (candidates.length === 0) return undefined;
    const anon = this.anonBytes();
    if (anon === undefined || anon <= this.targetBytes) return undefined;
    const idlest = candidates.reduce((a, b) => (b.activeAt < a.activeAt ? b : a)).mount;
    const s = this.seen.get(idlest) as Seen;
    s.forgottenAt = s.requests;
    this.forgettings++;
    const { notices } = await idlest.forgetNames();
    log().info(
      { mountpoint: idlest.record.mountpoint, anonBytes: anon, targetBytes: this.targetBytes, notices },
      "asked the kernel to forget the names of the longest idle mount (daemon memory above QUILT_NAMES_MEMORY)",
    );
    return idlest;
  }
}

/** The process's anonymous resident memory (RssAnon of /proc/self/status), bytes; undefined where /proc has none. */
export function anonRss(): number | undefined {
  try {
    const m = /^RssAnon:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
