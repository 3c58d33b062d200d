// The floor of a FUSE listing with our binding: a filesystem with no logic at all, one flat
// directory whose names and attributes are answered from arrays built before mounting, on the
// same binding (fuse-napi, libfuse 3's high-level API, with our patch), the same mount options
// and the same listing in pages with attributes (READDIRPLUS, pages sized as the daemon's) as
// the daemon's mounts. Whatever a cold `ls -l` costs here is the binding's and the kernel's:
// the hand-off of each request from libfuse's thread to Node's event loop and back.
// scripts/bench-ls.ts lists it next to the daemon's mount to show how much of the cold
// listing's cost the daemon could still remove.
//
// Run as a child process with the daemon's Node options (the daemon is one too), so the
// bench's own event loop is not the one answering the kernel:
//   node --import tsx scripts/bench-binding-floor.ts MOUNTPOINT COUNT
// prints "ready" once mounted and unmounts on SIGTERM.
import Fuse from "fuse-napi";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { daemonEnv, daemonNodeOptions } from "../src/daemon/lifecycle.js";
import { PageSizer } from "../src/fs/dir-listing.js";
import { FUSE_MAX_CONCURRENCY, mountOptionString } from "../src/fs/mount-options.js";
import { bigEntrySize } from "../test/helpers/big-manifest.js";

type Stats = Fuse.Stats;

/** The name of the i-th file of the flat directory, as the bench's local copy and manifest name it. */
export function flatName(i: number): string {
  return `f${String(i).padStart(7, "0")}.bin`;
}

function serve(mountpoint: string, count: number): void {
  const names = Array.from({ length: count }, (_, i) => flatName(i));
  const now = new Date();
  const base: Omit<Stats, "mode" | "size" | "nlink" | "ino"> = {
    dev: 0,
    rdev: 0,
    blksize: 4096,
    blocks: 0,
    mtime: now,
    atime: now,
    ctime: now,
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
  };
  const dir = { ...base, nlink: 2, size: 4096, mode: 0o40555 };
  const files = names.map((_, i) => ({
    ...base,
    nlink: 1,
    size: bigEntrySize(i),
    mode: 0o100444,
    ino: i + 16,
  }));
  const FLAT = "/flat/";
  const root = { names: ["flat"], stats: [{ ...dir, ino: 2 }] };
  const flat = { names, stats: files };
  const sizers = new Map<number, PageSizer>();
  let nextFh = 1;
  const ops: Fuse.OPERATIONS = {
    opendir: (_path, _flags, cb) => {
      sizers.set(nextFh, new PageSizer());
      cb(0, nextFh++);
    },
    readdirPaged: (path, fh, offset, cb) => {
      const sizer = sizers.get(Number(fh)) as PageSizer;
      const { names: n, stats } = path === "/" ? root : flat;
      const from = Number(offset);
      const end = Math.min(n.length, from + sizer.sizeAt(from));
      sizer.gave(from, Math.max(0, end - from));
      const offsets = Array.from({ length: Math.max(0, end - from) }, (_, i) => from + i + 1);
      cb(0, n.slice(from, end), stats.slice(from, end), offsets);
    },
    releasedir: (_path, fh, cb) => {
      sizers.delete(Number(fh));
      cb(0);
    },
    getattr(path, cb) {
      if (path === null) return cb(Fuse.ENOENT);
      if (path === "/") return cb(0, { ...dir, ino: 1 });
      if (path === "/flat") return cb(0, { ...dir, ino: 2 });
      const i = path.startsWith(FLAT) ? Number(path.slice(FLAT.length + 1, FLAT.length + 8)) : NaN;
      const attr = files[i];
      return attr && names[i] === path.slice(FLAT.length) ? cb(0, attr) : cb(Fuse.ENOENT);
    },
    // As the daemon: ls's security.* and system.* questions are answered "not supported".
    getxattr: (_path, _name, _position, cb) => cb(Fuse.EOPNOTSUPP),
    listxattr: (_path, cb) => cb(0, []),
  };
  class FloorFuse extends Fuse {
    _fuseOptions(): string {
      return mountOptionString({ name: "binding-floor" });
    }
  }
  // No timer per operation, as for the daemon's tree operations; as many requests at once.
  const fuse = new FloorFuse(mountpoint, ops, { timeout: false, maxConcurrency: FUSE_MAX_CONCURRENCY });
  // Without a timer nothing holds the event loop open while the mount starts (the daemon has its socket).
  const alive = setInterval(() => undefined, 1 << 30);
  fuse.mount((err) => {
    if (err) {
      console.error(err);
      process.exit(1);
    }
    console.log("ready");
  });
  process.on("SIGTERM", () =>
    fuse.unmount(() => {
      clearInterval(alive);
      process.exit(0);
    }),
  );
}

export interface FloorMount {
  pid: number;
  stop(): Promise<void>;
}

/** Starts the floor filesystem on `mountpoint` (an empty directory) in a child process. */
export async function startBindingFloor(mountpoint: string, count: number): Promise<FloorMount> {
  const child = spawn(
    process.execPath,
    [...daemonNodeOptions(), "--import", "tsx", fileURLToPath(import.meta.url), mountpoint, String(count)],
    // The daemon's Node options and environment, so only the filesystem differs.
    { stdio: ["ignore", "pipe", "inherit"], env: daemonEnv(process.env) },
  );
  const lines = createInterface({ input: child.stdout });
  const [line] = (await Promise.race([once(lines, "line"), once(child, "exit")])) as [unknown];
  if (line !== "ready") throw new Error(`the binding-floor filesystem did not mount on ${mountpoint}`);
  return {
    pid: child.pid as number,
    async stop() {
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** The C floors: libfuse 2's high-level API (lookups per name), libfuse 3's low-level API with READDIRPLUS. */
export type LibfuseVersion = 2 | 3;
const C_FLOORS = {
  2: { source: "libfuse-floor.c", pkg: "fuse", bin: "libfuse-floor" },
  3: { source: "libfuse3-floor.c", pkg: "fuse3", bin: "libfuse3-floor" },
} as const;

/**
 * Compiles scripts/libfuse-floor.c (libfuse 2) or scripts/libfuse3-floor.c (libfuse 3) into
 * `dir`; undefined, with the reason on stderr, where gcc or that libfuse's headers are missing
 * (libfuse 3's come with Debian's libfuse3-dev, which setup.sh installs: the mount's binding is built with it).
 */
export function buildLibfuseFloor(dir: string, version: LibfuseVersion = 2): string | undefined {
  const floor = C_FLOORS[version];
  const flags = spawnSync("pkg-config", ["--cflags", "--libs", floor.pkg], { encoding: "utf8" });
  const bin = join(dir, floor.bin);
  const source = fileURLToPath(new URL(`./${floor.source}`, import.meta.url));
  const cc =
    flags.status === 0
      ? spawnSync("gcc", ["-O2", "-o", bin, source, ...flags.stdout.trim().split(/\s+/)], {
          encoding: "utf8",
        })
      : undefined;
  if (cc?.status === 0) return bin;
  console.error(
    `${floor.bin} not built: ${cc ? cc.stderr || cc.error : `pkg-config ${floor.pkg} failed (no headers)`}`,
  );
  return undefined;
}

/**
 * Mounts a compiled C floor in the foreground, in libfuse's multi-threaded loop or (`single`)
 * its one-thread loop. libfuse 2's takes the daemon's mount options; libfuse 3's low-level
 * session takes only the kernel's (its timeouts are in its replies, the daemon's values).
 */
export async function startLibfuseFloor(
  bin: string,
  mountpoint: string,
  count: number,
  single: boolean,
  version: LibfuseVersion = 2,
): Promise<FloorMount> {
  const options =
    version === 2 ? mountOptionString({ name: "libfuse-floor" }) : "-oro,fsname=libfuse3-floor,subtype=quilt";
  const args = [mountpoint, "-f", ...(single ? ["-s"] : []), options];
  const child = spawn(bin, args, { stdio: "inherit", env: { ...process.env, FLOOR_COUNT: String(count) } });
  const exited = once(child, "exit");
  // fuse_main says nothing once mounted: wait for the directory to appear through it.
  for (let waited = 0; !existsSync(join(mountpoint, "flat")); waited += 20) {
    if (waited > 15_000 || child.exitCode !== null)
      throw new Error(`the libfuse ${version} floor did not mount on ${mountpoint}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    pid: child.pid as number,
    async stop() {
      spawnSync("fusermount", ["-u", mountpoint]);
      await exited;
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [mountpoint, count] = process.argv.slice(2);
  if (!mountpoint || !count) {
    console.error("usage: node --import tsx scripts/bench-binding-floor.ts MOUNTPOINT COUNT");
    process.exit(2);
  }
  serve(mountpoint, Number(count));
}
