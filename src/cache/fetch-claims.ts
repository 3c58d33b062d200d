// Claims on fetches in a data directory that several daemons share (GPU nodes on one EFS/NFS
// cache, several daemons on one host): when they read the same cold file at the same time,
// each chunk should come from S3 once, not once per daemon. Before fetching a chunk a daemon
// creates a claim file for it (O_EXCL: exactly one creator wins, on NFS too) holding its host
// and pid, and touches it while the fetch runs. Another daemon that finds the claim waits,
// polling for the chunk's block files to appear (they are renamed into place whole, and
// hashed by the waiter before use: a claim never makes a daemon serve bytes it did not
// verify), for the claim to go away (then it looks once more and claims it itself), or for
// it to go stale: its holder's pid is gone on this host, or it was not touched for
// `staleMs` (a holder on another host that died). A stale claim is taken over. A waiter never
// waits longer than `maxWaitMs` in all: then it fetches by itself, as if there were no claim.
import { hostname } from "node:os";
import { join } from "node:path";
import { mkdir, open, readdir, readFile, stat, unlink, utimes } from "node:fs/promises";
import { errnoCode } from "../errors.js";
import { log } from "../log.js";

export interface ClaimTimes {
  /** A claim not touched for this long belongs to a holder that died (on any host). */
  staleMs: number;
  /** How often a holder touches its claim while it fetches. */
  refreshMs: number;
  /** How often a waiter looks for the blocks, or at the claim. */
  pollMs: number;
  /** The longest a waiter waits before it fetches by itself. */
  maxWaitMs: number;
}

export const CLAIM_TIMES: ClaimTimes = {
  /**
   * 15 s: five missed refreshes. Also covers clock skew between hosts, since the mtime is
   * the file server's clock and the age is measured with ours (NTP keeps them well within).
   */
  staleMs: 15_000,
  /** 3 s: a touch is one small metadata write; an 8 MiB chunk usually takes well under that. */
  refreshMs: 3_000,
  /** 20 ms: a chunk takes ~100 ms from S3; a look is a stat or two on the data directory. */
  pollMs: 20,
  /** 20 s: a third of a FUSE read's deadline (60 s), so a reader still gets its bytes after waiting in vain. */
  maxWaitMs: 20_000,
};

export interface ClaimCounters {
  /** Chunks another process fetched while this one waited on its claim. */
  claimWaits: number;
  /** Stale claims (dead holders) taken over. */
  claimTakeovers: number;
  /** Waits that reached the bound, after which this process fetched by itself. */
  claimTimeouts: number;
}

const HOST = hostname();

/** Inside the block layout (claims name chunks of its blocks); the reconcile scan only looks at its two-hex-digit shards. */
export function claimsDir(layout: string): string {
  return join(layout, "claims");
}

interface Holder {
  host: string;
  pid: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists, run by another user (a daemon sharing the directory).
    return errnoCode(err) === "EPERM";
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

export class FetchClaims {
  constructor(
    /** The claims directory, inside the shared data directory. */
    private readonly dir: string,
    private readonly counters: ClaimCounters,
    private readonly times: ClaimTimes = CLAIM_TIMES,
  ) {}

  /**
   * The result of `fetch` under the claim `id`, or of `ready` once another process's claimed
   * fetch put the bytes on disk. `ready` looks for them (and checks them); undefined: not there.
   */
  async run<T>(
    id: string,
    ready: () => Promise<T | undefined>,
    fetch: () => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const deadline = Date.now() + this.times.maxWaitMs;
    for (;;) {
      const release = await this.tryClaim(id);
      if (release) {
        try {
          // The previous holder may have finished between our look on disk and our claim.
          return (await ready()) ?? (await fetch());
        } finally {
          await release();
        }
      }
      const waited = await this.waitOnHolder(id, ready, deadline, signal);
      if (waited.kind === "ready") {
        this.counters.claimWaits++;
        return waited.value;
      }
      if (waited.kind === "timeout") {
        if (!signal?.aborted) {
          this.counters.claimTimeouts++;
          log().warn(
            { claim: id, waitedMs: this.times.maxWaitMs },
            "waited in vain on another process's fetch; fetching it here",
          );
        }
        return fetch();
      }
      if (waited.kind === "stale") {
        this.counters.claimTakeovers++;
        log().info({ claim: id }, "taking over the fetch claim of a process gone");
        await unlink(this.path(id)).catch(() => undefined);
      }
      // Gone, or taken over: claim it (and look once more) on the next turn.
    }
  }

  /**
   * Deletes the claims of processes gone (a daemon killed while it fetched), so they do not
   * linger until someone wants their chunk: run when a cache opens. Returns how many.
   */
  async sweep(): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const name of names) {
      const path = this.path(name);
      const st = await stat(path).catch(() => undefined);
      if (!st?.isFile()) continue;
      const holder = await readHolder(path);
      const dead =
        (holder?.host === HOST && !alive(holder.pid)) || Date.now() - st.mtimeMs > this.times.staleMs;
      if (
        dead &&
        (await unlink(path).then(
          () => true,
          () => false,
        ))
      )
        removed++;
    }
    if (removed > 0) log().info({ dir: this.dir, removed }, "removed fetch claims of processes gone");
    return removed;
  }

  private path(id: string): string {
    return join(this.dir, id);
  }

  /** Creates the claim (O_EXCL); its release function, or undefined when another holds it. */
  private async tryClaim(id: string): Promise<(() => Promise<void>) | undefined> {
    const path = this.path(id);
    let fh;
    for (let attempt = 0; ; attempt++) {
      try {
        fh = await open(path, "wx");
        break;
      } catch (err) {
        const code = errnoCode(err);
        if (code === "EEXIST") return undefined;
        // A directory we cannot write claims in (read-only, full): fetch without one, as before claims existed.
        const noClaim = async () => undefined;
        if (code !== "ENOENT" || attempt > 0) {
          log().warn({ err, dir: this.dir }, "cannot create a fetch claim; fetching without one");
          return noClaim;
        }
        try {
          await mkdir(this.dir, { recursive: true });
        } catch (mkdirErr) {
          log().warn(
            { err: mkdirErr, dir: this.dir },
            "cannot create the fetch claims directory; fetching without a claim",
          );
          return noClaim;
        }
      }
    }
    try {
      await fh.writeFile(JSON.stringify({ host: HOST, pid: process.pid } satisfies Holder));
    } catch {
      // A full disk: the claim stands without its holder, and is judged by its age alone.
    } finally {
      await fh.close().catch(() => undefined);
    }
    const timer = setInterval(() => {
      const now = new Date();
      utimes(path, now, now).catch(() => undefined);
    }, this.times.refreshMs);
    timer.unref();
    return async () => {
      clearInterval(timer);
      await unlink(path).catch(() => undefined);
    };
  }

  /**
   * Waits while another process holds the claim, until `ready` finds the bytes, the claim
   * goes away, its holder is found dead, or the deadline (or the reader's abort).
   */
  private async waitOnHolder<T>(
    id: string,
    ready: () => Promise<T | undefined>,
    deadline: number,
    signal: AbortSignal | undefined,
  ): Promise<{ kind: "ready"; value: T } | { kind: "gone" | "stale" | "timeout" }> {
    const path = this.path(id);
    let holder: Holder | undefined;
    while (!signal?.aborted && Date.now() < deadline) {
      await sleep(this.times.pollMs, signal);
      const value = await ready();
      if (value !== undefined) return { kind: "ready", value };
      const st = await stat(path).catch(() => undefined);
      if (!st) return { kind: "gone" };
      holder ??= await readHolder(path);
      if (holder?.host === HOST && !alive(holder.pid)) return { kind: "stale" };
      if (Date.now() - st.mtimeMs > this.times.staleMs) return { kind: "stale" };
    }
    return { kind: "timeout" };
  }
}

async function readHolder(path: string): Promise<Holder | undefined> {
  try {
    const h = JSON.parse(await readFile(path, "utf8")) as Partial<Holder>;
    return typeof h.host === "string" && Number.isSafeInteger(h.pid)
      ? { host: h.host, pid: h.pid as number }
      : undefined;
  } catch {
    // Being written (empty) or damaged: judged by its age alone.
    return undefined;
  }
}
