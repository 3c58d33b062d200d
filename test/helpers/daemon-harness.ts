// A sandbox per daemon test: its own QUILT_STATE_DIR and QUILT_CACHE_DIR (so daemons of
// test files running in parallel never meet), the real `quilt` CLI run with that
// environment, the daemon's stats, and a cleanup that always leaves nothing behind:
// `quilt daemon stop`, then SIGKILL of the pid in the pid file, then `fusermount -uz` on
// every mount point the test used. The test process never serves a mount, so it may read
// the mounts directly; it still uses async calls so a hung mount fails a test by timeout
// instead of freezing the worker.
import { readFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { abortConnection, fusermountUnmount, mountAt } from "../../src/fs/mount-table.js";
import { runCli, type CliResult } from "./cli.js";
import { FAKE_AWS_ENV } from "./moto-server.js";
import { processAlive } from "../../src/daemon/lifecycle.js";

export { processAlive };

import type { RequestCounts } from "../../src/storage/counting-store.js";
import type { CacheStats } from "../../src/cache/cache-stats.js";

export type { RequestCounts };

export interface DaemonStats {
  running: true;
  pid: number;
  mounts: number;
  cache: CacheStats;
  requests: { s3: RequestCounts; local: RequestCounts };
}

export interface SandboxOptions {
  /** S3 endpoint the CLI and the daemon it starts talk to (moto, or a proxy in front of it). */
  endpoint: string;
  /** Block data directory (QUILT_CACHE_DATA_DIR); default <cache dir>/data. Share it between sandboxes to share blocks. */
  dataDir?: string;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class DaemonSandbox {
  readonly stateDir: string;
  readonly cacheDir: string;
  readonly dataDir: string;
  readonly env: Record<string, string>;
  private readonly mountpoints = new Set<string>();
  private readonly pids = new Set<number>();

  private constructor(
    readonly root: string,
    opts: SandboxOptions,
  ) {
    this.stateDir = join(root, "state");
    this.cacheDir = join(root, "cache");
    this.dataDir = opts.dataDir ?? join(this.cacheDir, "data");
    this.env = {
      ...FAKE_AWS_ENV,
      AWS_ENDPOINT_URL: opts.endpoint,
      QUILT_STATE_DIR: this.stateDir,
      QUILT_CACHE_DIR: this.cacheDir,
      QUILT_CACHE_DATA_DIR: this.dataDir,
      QUILT_LOG_LEVEL: "info",
    };
  }

  static async create(label: string, opts: SandboxOptions): Promise<DaemonSandbox> {
    const root = await mkdtemp(join(tmpdir(), `quilt-daemon-${label}-`));
    return new DaemonSandbox(root, opts);
  }

  get pidFile(): string {
    return join(this.stateDir, "daemon", "daemon.pid");
  }

  get logFile(): string {
    return join(this.stateDir, "logs", "daemon.log");
  }

  /** Runs `quilt ARGS` with this sandbox's environment (plus `env`). */
  async cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
    const r = await runCli(args, { env: { ...this.env, ...env } });
    await this.notePid();
    return r;
  }

  /** Runs `quilt ARGS` and fails the test (with its output) unless it exits 0. */
  async ok(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
    const r = await this.cli(args, env);
    expect(
      r.code,
      `quilt ${args.join(" ")}\nstdout: ${r.stdout}\nstderr: ${r.stderr}\n${await this.logTail()}`,
    ).toBe(0);
    return r;
  }

  /** A new empty directory to mount on; remembered so cleanup unmounts it. */
  async mountDir(name = "mnt"): Promise<string> {
    const dir = join(this.root, name);
    await mkdir(dir, { recursive: true });
    this.mountpoints.add(dir);
    return dir;
  }

  /** `quilt mount SPEC DIR --registry R ...` that must succeed. */
  async mount(spec: string, dir: string, registry: string, extra: string[] = []): Promise<CliResult> {
    this.mountpoints.add(dir);
    return this.ok(["mount", spec, dir, "--registry", registry, ...extra]);
  }

  async stats(): Promise<DaemonStats> {
    const r = await this.ok(["daemon", "status", "--json"]);
    return JSON.parse(r.stdout) as DaemonStats;
  }

  async pid(): Promise<number | undefined> {
    const n = Number((await readFile(this.pidFile, "utf8").catch(() => "")).trim());
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  }

  /** Remembers the daemon's pid so cleanup can kill it even after its pid file is gone. */
  async notePid(): Promise<void> {
    const pid = await this.pid();
    if (pid !== undefined) this.pids.add(pid);
  }

  /** SIGKILL of the daemon, as a crash would; waits until it is gone. */
  async kill9(): Promise<number> {
    const pid = await this.pid();
    if (pid === undefined) throw new Error("no daemon pid file");
    process.kill(pid, "SIGKILL");
    await waitFor(() => !processAlive(pid), 10_000, `daemon ${pid} to die`);
    return pid;
  }

  async logTail(lines = 40): Promise<string> {
    const text = await readFile(this.logFile, "utf8").catch(() => "");
    return `daemon log (${this.logFile}):\n${text.split("\n").slice(-lines).join("\n")}`;
  }

  /** Stops the daemon and clears every mount, whatever state the test left. Never throws. */
  async cleanup(): Promise<void> {
    await this.notePid();
    await Promise.race([this.cli(["daemon", "stop"]).catch(() => undefined), sleep(40_000)]);
    for (const pid of this.pids) {
      if (!processAlive(pid)) continue;
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone meanwhile
      }
      await waitFor(() => !processAlive(pid), 5_000, "").catch(() => undefined);
    }
    for (const dir of this.mountpoints) {
      if (!(await mountAt(dir).catch(() => undefined))) continue;
      await fusermountUnmount(dir, { lazy: true }).catch(() => undefined);
      if (await mountAt(dir).catch(() => undefined)) {
        await abortConnection(dir).catch(() => undefined);
        await fusermountUnmount(dir, { lazy: true }).catch(() => undefined);
      }
    }
    // Never recurse into a mount that is somehow still there.
    for (const dir of this.mountpoints) if (await mountAt(dir).catch(() => undefined)) return;
    await rm(this.root, { recursive: true, force: true }).catch(() => undefined);
  }
}

export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
