// The three FUSE readers scripts/bench-peers.ts compares, behind one interface so each
// workload runs the same commands against each: `quilt mount` (our daemon, from dist/),
// `rclone mount --vfs-cache-mode full --read-only` and `s3fs` with a disk cache. Each has
// its own cache directory under the bench's scratch directory, so "cold" can empty exactly
// that tool's cache (for us the block cache and the LMDB index under the state directory)
// and "warm" can restart the tool over a full one. All of them talk to the counting proxy.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { QUILT_BIN, S3RVER_AWS_ENV } from "./bench-support.js";

export type MountName = "quilt mount" | "rclone mount" | "s3fs";

export interface MountTool {
  name: MountName;
  mountpoint: string;
  /** Empties this tool's caches and mounts afresh. */
  mountCold(): Promise<void>;
  /** Stops the tool and mounts again over its disk cache (its process and memory caches are new). */
  remount(): Promise<void>;
  /** Unmounts and stops the tool; never throws. */
  unmount(): Promise<void>;
  /** The process serving the mount, for its CPU time and peak RSS. */
  pid(): number | undefined;
}

export interface MountSetup {
  scratch: string;
  /** The counting proxy in front of s3rver. */
  endpoint: string;
  bucket: string;
  /** Key prefix of the package's objects in the bucket (the package name), e.g. "bench/peers". */
  prefix: string;
  packageName: string;
}

export function isMounted(path: string): boolean {
  return readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .some((l) => l.split(" ")[1] === path);
}

/** Last-resort unmount of a mount point left behind by a tool that did not clean up. */
function forceUnmount(path: string): void {
  if (!isMounted(path)) return;
  spawnSync("fusermount", ["-u", "-z", path], { stdio: "ignore" });
  if (isMounted(path)) spawnSync("umount", ["-l", path], { stdio: "ignore" });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Our daemon: mounted and stopped through the CLI, with its own state and cache directories. */
function quiltTool(s: MountSetup): MountTool {
  const dir = join(s.scratch, "quilt");
  const mountpoint = join(dir, "mnt");
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...S3RVER_AWS_ENV,
    AWS_ENDPOINT_URL: s.endpoint,
    QUILT_STATE_DIR: join(dir, "state"),
    QUILT_CACHE_DIR: join(dir, "cache"),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  };
  const quilt = (argv: string[], check = true) => {
    const r = spawnSync(process.execPath, [QUILT_BIN, ...argv], { env, encoding: "utf8", timeout: 180_000 });
    if (check && r.status !== 0)
      throw new Error(`quilt ${argv.join(" ")} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  };
  const pid = () => {
    const file = join(dir, "state", "daemon", "daemon.pid");
    const n = existsSync(file) ? Number(readFileSync(file, "utf8").trim()) : NaN;
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  };
  const stop = async () => {
    const before = pid();
    quilt(["unmount", mountpoint], false);
    quilt(["daemon", "stop"], false);
    forceUnmount(mountpoint);
    // A daemon that did not answer the stop request: end it by its own pid, nothing broader.
    if (before !== undefined && existsSync(`/proc/${before}`)) {
      await sleep(500);
      try {
        process.kill(before, "SIGKILL");
      } catch {
        // already gone
      }
    }
  };
  const mount = async () => {
    await mkdir(mountpoint, { recursive: true });
    quilt(["mount", s.packageName, mountpoint, "--registry", `s3://${s.bucket}`, "--cache-size", "4G"]);
  };
  return {
    name: "quilt mount",
    mountpoint,
    pid,
    async mountCold() {
      await stop();
      await rm(join(dir, "cache"), { recursive: true, force: true });
      await rm(join(dir, "state"), { recursive: true, force: true });
      await mount();
    },
    async remount() {
      await stop();
      await mount();
    },
    unmount: stop,
  };
}

/** A peer that runs in the foreground as our child: mounted when the mount table says so. */
function childTool(
  name: MountName,
  s: MountSetup,
  start: (mountpoint: string, cacheDir: string) => Promise<ChildProcess>,
): MountTool {
  const dir = join(s.scratch, name.split(" ")[0] as string);
  const mountpoint = join(dir, "mnt");
  const cacheDir = join(dir, "cache");
  let child: ChildProcess | undefined;
  let stderr = "";
  const mount = async () => {
    await mkdir(mountpoint, { recursive: true });
    await mkdir(cacheDir, { recursive: true });
    stderr = "";
    const c = await start(mountpoint, cacheDir);
    child = c;
    c.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const deadline = Date.now() + 30_000;
    while (!isMounted(mountpoint)) {
      if (c.exitCode !== null || Date.now() > deadline) {
        c.kill("SIGKILL");
        throw new Error(`${name} did not mount ${mountpoint}:\n${stderr}`);
      }
      await sleep(100);
    }
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (isMounted(mountpoint)) spawnSync("fusermount", ["-u", mountpoint], { stdio: "ignore" });
    if (c && c.exitCode === null && c.signalCode === null) {
      const exited = new Promise<void>((r) => c.once("exit", () => r()));
      const deadline = sleep(30_000).then(() => "timeout" as const);
      if ((await Promise.race([exited, deadline])) === "timeout") {
        c.kill("SIGTERM");
        await Promise.race([exited, sleep(5_000)]);
        if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
      }
    }
    forceUnmount(mountpoint);
  };
  return {
    name,
    mountpoint,
    pid: () => child?.pid,
    async mountCold() {
      await stop();
      await rm(cacheDir, { recursive: true, force: true });
      await mount();
    },
    async remount() {
      await stop();
      await mount();
    },
    unmount: stop,
  };
}

/** rclone 1.60 configured from the environment only; it fails while AWS_CA_BUNDLE is set, so its env is built from scratch. */
function rcloneTool(s: MountSetup): MountTool {
  return childTool("rclone mount", s, async (mountpoint, cacheDir) => {
    const home = join(s.scratch, "rclone", "home");
    await mkdir(home, { recursive: true });
    const env = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: home,
      RCLONE_CONFIG: join(home, "rclone.conf"),
      RCLONE_CONFIG_PEER_TYPE: "s3",
      RCLONE_CONFIG_PEER_PROVIDER: "Other",
      RCLONE_CONFIG_PEER_ENDPOINT: s.endpoint,
      RCLONE_CONFIG_PEER_REGION: S3RVER_AWS_ENV.AWS_REGION,
      RCLONE_CONFIG_PEER_ACCESS_KEY_ID: S3RVER_AWS_ENV.AWS_ACCESS_KEY_ID,
      RCLONE_CONFIG_PEER_SECRET_ACCESS_KEY: S3RVER_AWS_ENV.AWS_SECRET_ACCESS_KEY,
    };
    const args = [
      "mount",
      `peer:${s.bucket}/${s.prefix}`,
      mountpoint,
      "--vfs-cache-mode",
      "full",
      "--read-only",
      "--cache-dir",
      cacheDir,
    ];
    return spawn("rclone", args, { env, stdio: ["ignore", "ignore", "pipe"] });
  });
}

/** s3fs in the foreground (-f) so it is our child; keys in a mode-600 passwd file, never on the command line. */
function s3fsTool(s: MountSetup): MountTool {
  return childTool("s3fs", s, async (mountpoint, cacheDir) => {
    const home = join(s.scratch, "s3fs", "home");
    await mkdir(home, { recursive: true });
    const passwd = join(home, "passwd-s3fs");
    await writeFile(passwd, `${S3RVER_AWS_ENV.AWS_ACCESS_KEY_ID}:${S3RVER_AWS_ENV.AWS_SECRET_ACCESS_KEY}\n`, {
      mode: 0o600,
    });
    await chmod(passwd, 0o600);
    const opts = [
      `url=${s.endpoint}`,
      "use_path_request_style",
      `passwd_file=${passwd}`,
      `use_cache=${cacheDir}`,
      "ro",
    ];
    const args = [`${s.bucket}:/${s.prefix}`, mountpoint, "-f", ...opts.flatMap((o) => ["-o", o])];
    return spawn("s3fs", args, {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home },
      stdio: ["ignore", "ignore", "pipe"],
    });
  });
}

/** The FUSE readers whose programs are here; ours always is. */
export function mountTools(s: MountSetup, have: { rclone: boolean; s3fs: boolean }): MountTool[] {
  return [quiltTool(s), ...(have.rclone ? [rcloneTool(s)] : []), ...(have.s3fs ? [s3fsTool(s)] : [])];
}
