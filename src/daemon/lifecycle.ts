// Starting, finding and stopping the daemon. `quilt mount` starts it detached when none
// answers on the socket (pid file and pino log under QUILT_STATE_DIR) and returns once it
// answers; `quilt daemon stop` asks it to shut down and waits for it to go.
import { spawn } from "node:child_process";
import { mkdir, open, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { QuiltError, isQuiltError } from "../errors.js";
import { fusermountUnmount, mountState } from "../fs/mount-table.js";
import { DaemonClient } from "./client.js";
import { readMountRecords, writeMountRecords } from "./mount-records.js";
import type { PingReply } from "./ops.js";
import type { DaemonPaths } from "./paths.js";

/** How long a starting daemon may take to answer (opening the cache index, remounting). */
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 30_000;
const POLL_MS = 100;

export async function pingDaemon(paths: DaemonPaths): Promise<PingReply | undefined> {
  try {
    return await new DaemonClient(paths.socket).request("ping", {}, { timeoutMs: 5_000 });
  } catch (err) {
    if (isQuiltError(err, "EUNREACHABLE")) return undefined;
    throw err;
  }
}

/**
 * V8 options of the daemon process. On a machine of few cores the garbage collector's helper
 * threads compete with the daemon's own thread, the FUSE thread and the S3 server or other
 * work for the same cores: with --single-threaded-gc, reading 1 GiB through the mount on 2
 * cores took 8.1-9.8 CPU s cold and 2.3-3.3 warm instead of 10.1-10.7 and 3.7-4.3 (three
 * alternating rounds of scripts/bench-mount.ts, 2026-12-04), and less time. Machines with
 * cores to spare keep V8's parallel collector.
 */
export function daemonNodeOptions(cores: number = availableParallelism()): string[] {
  return cores <= 4 ? ["--single-threaded-gc"] : [];
}

/**
 * The daemon's environment: the caller's, with glibc's malloc held to one arena and a fixed
 * mmap threshold unless the caller chose. Each first mount indexes its manifest in a worker
 * thread of its own, and glibc gives a thread its own arena, which keeps its memory after the
 * thread ends: three million-entry first mounts left the daemon's anonymous RSS at 314 MiB with
 * the default and 113 MiB with one arena (137 to 209 MiB with two), 2026-12-04. And glibc
 * raises its mmap threshold (up to 32 MiB) each time a large mmapped block is freed, after
 * which such blocks come from the heap and leave it fragmented: ten 300k-entry versions
 * mounted, listed and forgotten (scripts/bench-million.ts) held 298 MiB anonymous with one
 * arena, 177 MiB with the threshold held at 1 MiB (148 at 128 KiB), 2026-12-04. Held at 2 MiB,
 * not 1: a block read's 1 MiB Buffer (1 MiB and malloc's header) then stays on the heap rather
 * than costing an mmap and its page faults per block. Same machine and run, 2026-12-05 (quiet):
 * ten 300k-entry versions after the memory bound held 125 MiB anonymous at 2 MiB, 201 at 1 MiB;
 * a 1 GiB sequential read (bench-mount) cost the daemon 5.9 / 2.1 CPU s per GiB cold / warm at
 * 2 MiB, 6.4 / 2.3 at 1 MiB, 5.7 / 2.1 at 32 MiB (glibc's own ceiling, close to its default).
 */
export function daemonEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { MALLOC_ARENA_MAX: "1", MALLOC_MMAP_THRESHOLD_: "2097152", ...env };
}

/** The `quilt` executable next to this module (dist/src/daemon → bin/quilt.js). */
function quiltBin(): string {
  return join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "bin", "quilt.js");
}

/** Starts a detached daemon unless one answers; returns its info once it answers. */
export async function ensureDaemon(
  paths: DaemonPaths,
  env: NodeJS.ProcessEnv,
  extraArgs: string[] = [],
): Promise<{ info: PingReply; started: boolean }> {
  const running = await pingDaemon(paths);
  if (running)
    return {
      info: running.ready === false ? await waitReady(paths, Date.now() + START_TIMEOUT_MS) : running,
      started: false,
    };
  await mkdir(dirname(paths.log), { recursive: true, mode: 0o700 }); // the state directory is private (src/private-dir.ts)
  // The daemon's stderr goes to its log too: a crash before its logger is set up (a broken
  // install, a bad option) would otherwise leave only "did not start" and an empty log.
  const stderr = await open(paths.log, "a");
  let child;
  try {
    child = spawn(process.execPath, [...daemonNodeOptions(), quiltBin(), "daemon", "run", ...extraArgs], {
      detached: true,
      stdio: ["ignore", "ignore", stderr.fd],
      env: daemonEnv(env),
    });
  } finally {
    await stderr.close();
  }
  child.unref();
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    const info = await pingDaemon(paths);
    if (info) return { info: info.ready === false ? await waitReady(paths, deadline) : info, started: true };
    if (child.exitCode !== null) break;
  }
  throw new QuiltError("EUNREACHABLE", "The quilt daemon did not start", {
    hint: `see its log: ${paths.log}`,
  });
}

/**
 * A daemon someone else starts (systemd's `quilt daemon run`): its info once it answers and
 * has remounted what its predecessor held, or undefined if it has not within `ms`.
 */
export async function waitForDaemon(paths: DaemonPaths, ms: number): Promise<PingReply | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const info = await pingDaemon(paths);
    if (info !== undefined && info.ready !== false) return info;
    if (Date.now() >= deadline) return undefined;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Waits until the daemon has remounted what its predecessor held. */
async function waitReady(paths: DaemonPaths, deadline: number): Promise<PingReply> {
  while (Date.now() < deadline) {
    const info = await pingDaemon(paths);
    if (info?.ready !== false && info !== undefined) return info;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  throw new QuiltError("EUNREACHABLE", "The quilt daemon did not finish remounting its mounts in time", {
    hint: `see its log: ${paths.log}`,
  });
}

export async function writePidFile(paths: DaemonPaths): Promise<void> {
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  await writeFile(paths.pid, String(process.pid));
}

export async function removePidFile(paths: DaemonPaths): Promise<void> {
  await rm(paths.pid, { force: true });
}

async function readPid(paths: DaemonPaths): Promise<number | undefined> {
  const n = Number((await readFile(paths.pid, "utf8").catch(() => "")).trim());
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** Whether a process with this pid exists (signal 0 probes without signalling). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** How long a killed daemon may take to be gone. */
const KILL_WAIT_MS = 5_000;

/**
 * Asks the daemon to shut down (unmounting everything) and waits until it has exited. One
 * that does not within the stop timeout (wedged on a hung read, stopped, deadlocked) is
 * killed, and the mounts it held are cleared, so `quilt daemon stop` always ends within a
 * bound and leaves no stale mount behind. QUILT_DAEMON_STOP_TIMEOUT_MS shortens the wait
 * (tests).
 */
export async function stopDaemon(paths: DaemonPaths, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const info = await pingDaemon(paths);
  const pid = info?.pid ?? (await readPid(paths));
  if (!info && (pid === undefined || !processAlive(pid))) return false;
  if (info)
    await new DaemonClient(paths.socket).request("shutdown", {}, { timeoutMs: 5_000 }).catch(() => undefined);
  else if (pid !== undefined) process.kill(pid, "SIGTERM");
  const timeout =
    Number(env.QUILT_DAEMON_STOP_TIMEOUT_MS) > 0 ? Number(env.QUILT_DAEMON_STOP_TIMEOUT_MS) : STOP_TIMEOUT_MS;
  if (pid === undefined || (await exited(pid, timeout))) return true;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // gone meanwhile
  }
  if (!(await exited(pid, KILL_WAIT_MS))) {
    throw new QuiltError("EINTERNAL", `The daemon (pid ${pid}) did not stop, even when killed`, {
      hint: `check the process (ps -p ${pid}); its log: ${paths.log}`,
    });
  }
  // What the killed daemon held is stale now: detached here rather than left to the next daemon.
  for (const r of await readMountRecords(paths.mounts).catch(() => [])) {
    if ((await mountState(r.mountpoint)) !== "none")
      await fusermountUnmount(r.mountpoint, { lazy: true }).catch(() => undefined);
  }
  await writeMountRecords(paths.mounts, []);
  await removePidFile(paths);
  return true;
}

async function exited(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline && processAlive(pid)) await new Promise((r) => setTimeout(r, POLL_MS));
  return !processAlive(pid);
}
