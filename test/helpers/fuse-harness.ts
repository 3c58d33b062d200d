// Runs test/helpers/fuse-server.ts in a child process, talks to it over IPC, and always
// cleans up: unmount, then kill, then fusermount -uz, then abort the FUSE connection, so a
// failing test never leaves a mount (stale or hung) behind.
import { type ChildProcess, execFile, fork } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { abortConnection, fusermountUnmount, mountAt } from "../../src/fs/mount-table.js";
import type { ServerReply, ServerRequest, ServerSpec, ServerStats } from "./fuse-server.js";

const SERVER = fileURLToPath(new URL("./fuse-server.ts", import.meta.url));

/** Why FUSE tests cannot run here, or null when they can. */
export function fuseUnavailable(): string | null {
  if (!existsSync("/dev/fuse")) return "/dev/fuse is missing (no FUSE kernel module in this environment)";
  return null;
}

type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;

export class FuseServer {
  private nextId = 1;
  private readonly pending = new Map<number, (reply: ServerReply) => void>();
  private exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly dir: string,
    readonly mountpoint: string,
  ) {
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    child.on("message", (reply: ServerReply) => {
      this.pending.get(reply.id)?.(reply);
      this.pending.delete(reply.id);
    });
  }

  /** Starts a server mounting at a new temp directory, or at `at` (which the caller cleans up). */
  static async start(spec: Omit<ServerSpec, "mountpoint">, at?: string): Promise<FuseServer> {
    const dir = at ?? (await mkdtemp(join(tmpdir(), "quilt-fuse-test-")));
    const mountpoint = at ?? join(dir, "mnt");
    if (at === undefined) await mkdir(mountpoint);
    const child = fork(SERVER, [], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const server = new FuseServer(child, dir, mountpoint);
    try {
      await server.request({ op: "start", spec: { ...spec, mountpoint } });
    } catch (err) {
      await server.close();
      throw err;
    }
    return server;
  }

  request(req: WithoutId<ServerRequest>): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (reply) =>
        reply.ok
          ? resolve(reply.value)
          : reject(Object.assign(new Error(reply.message), { code: reply.code })),
      );
      this.child.send({ ...req, id } as ServerRequest);
      this.exited.then(() => reject(new Error(`fuse server exited before answering ${req.op}`)));
    });
  }

  /** Resolves when the server process has exited, with its exit code (null if killed). */
  async waitExit(ms: number): Promise<number | null | "running"> {
    const done = await Promise.race([this.exited.then(() => true), sleep(ms).then(() => false)]);
    return done ? this.child.exitCode : "running";
  }

  /** SIGKILL, as a crash would: the mount is left behind, stale. */
  async kill(): Promise<void> {
    this.child.kill("SIGKILL");
    await this.exited;
  }

  async stats(): Promise<ServerStats> {
    return (await this.request({ op: "stats" })) as ServerStats;
  }

  /** Unmounts (politely, then by force) and removes the temp directory. Never throws. */
  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      await Promise.race([this.request({ op: "unmount" }).catch(() => undefined), sleep(10_000)]);
      if (!(await Promise.race([this.exited.then(() => true), sleep(5_000).then(() => false)]))) {
        this.child.kill("SIGKILL");
        await Promise.race([this.exited, sleep(5_000)]);
      }
    }
    if (await mountAt(this.mountpoint)) {
      await fusermountUnmount(this.mountpoint, { lazy: true }).catch(() => undefined);
      if (await mountAt(this.mountpoint)) {
        await abortConnection(this.mountpoint).catch(() => undefined);
        await fusermountUnmount(this.mountpoint, { lazy: true }).catch(() => undefined);
      }
    }
    // Never recurse into a mount that is somehow still there; leave a caller's directory alone.
    if (this.dir !== this.mountpoint && !(await mountAt(this.mountpoint)))
      await rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

/** Runs a command; resolves with its exit code, stdout and stderr (never rejects on exit status). */
export function run(
  cmd: string,
  args: string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024, ...(opts.env && { env: opts.env }) },
      (err, stdout, stderr) => {
        if (err && typeof (err as { code?: unknown }).code !== "number") return reject(err);
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}
