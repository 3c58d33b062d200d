// What the kernel says is mounted where, and how to take a FUSE mount down from outside its
// process. A daemon killed with SIGKILL leaves its mount behind with no one serving it:
// every access answers ENOTCONN ("Transport endpoint is not connected") until someone runs
// `fusermount -uz`. The daemon's next start uses this module to find and clear such
// mounts before mounting again. No FUSE binding here: only /proc and fusermount.
import { execFile } from "node:child_process";
import { access, readFile, readdir, realpath, statfs, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { errnoCode, QuiltError } from "../errors.js";

export interface MountInfo {
  mountPoint: string;
  /** "major:minor" of the mount; for FUSE the minor names its connection in fusectl. */
  device: string;
  /** "fuse.quilt" for our mounts (fuse.<subtype>). */
  fsType: string;
  /** The mount source: our fsname. */
  source: string;
  /** Per-mount options ("ro,nosuid,..."). */
  options: string[];
}

/**
 * "live": mounted and answering; "stale": a FUSE mount nobody serves any more; "hung": a
 * FUSE mount whose server did not answer in time (treated as live: it may only be slow);
 * "none": not a mount point.
 */
export type MountState = "live" | "stale" | "hung" | "none";

/** How long a mounted server may take to answer the liveness probe, ms. */
const PROBE_TIMEOUT_MS = 5_000;

/** mountinfo escapes space, tab, newline and backslash as octal (\040 ...). */
function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export async function readMountTable(): Promise<MountInfo[]> {
  const text = await readFile("/proc/self/mountinfo", "utf8");
  const out: MountInfo[] = [];
  for (const line of text.split("\n")) {
    // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(" ");
    const right = line.slice(sep + 3).split(" ");
    if (left.length < 6 || right.length < 2) continue;
    out.push({
      mountPoint: unescapeMountField(left[4] as string),
      device: left[2] as string,
      fsType: right[0] as string,
      source: unescapeMountField(right[1] as string),
      options: (left[5] as string).split(","),
    });
  }
  return out;
}

/**
 * The path as the mount table spells it. The directory itself cannot be resolved when its
 * mount is stale (stat answers ENOTCONN), so only its parent goes through realpath.
 */
export async function canonicalMountPath(path: string): Promise<string> {
  const abs = resolve(path);
  if (abs === "/") return abs;
  try {
    return join(await realpath(dirname(abs)), basename(abs));
  } catch {
    return abs;
  }
}

/** The innermost mount at exactly `path`, if any. */
export async function mountAt(path: string): Promise<MountInfo | undefined> {
  const target = await canonicalMountPath(path);
  const table = await readMountTable();
  for (let i = table.length - 1; i >= 0; i--)
    if ((table[i] as MountInfo).mountPoint === target) return table[i];
  return undefined;
}

export async function mountState(path: string): Promise<MountState> {
  const m = await mountAt(path);
  if (m === undefined) return "none";
  if (!m.fsType.startsWith("fuse")) return "live";
  // statfs, not stat: the kernel answers stat from its attribute cache (long-lived on our
  // mounts) even after the server died, but always asks the server for statfs.
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"hung">((resolvePromise) => {
    timer = setTimeout(() => resolvePromise("hung"), PROBE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([statfs(m.mountPoint).then(() => "live" as const), timeout]);
  } catch (err) {
    const code = errnoCode(err);
    if (code === "ENOTCONN" || code === "ECONNABORTED") return "stale";
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs fusermount3 (libfuse 3's helper, which our mounts need) to unmount `path`; `lazy`
 * (-z) detaches it even while busy or stale. Falls back to a plain `fusermount` name.
 */
export async function fusermountUnmount(path: string, opts: { lazy?: boolean } = {}): Promise<void> {
  const args = [opts.lazy ? "-uz" : "-u", await canonicalMountPath(path)];
  let lastErr: unknown;
  for (const cmd of ["fusermount3", "fusermount"]) {
    try {
      await run(cmd, args);
      return;
    } catch (err) {
      lastErr = err;
      if (errnoCode(err) !== "ENOENT") break; // the command ran and failed: another name will not help
    }
  }
  const stderr = (lastErr as { stderr?: string }).stderr?.trim();
  const busy = stderr !== undefined && /busy/i.test(stderr);
  const code = errnoCode(lastErr) === "ENOENT" ? "ENOFUSE" : busy ? "EBUSY" : "EUSAGE"; // ENOENT: no fusermount at all
  throw new QuiltError(code, `Cannot unmount ${path}: ${stderr || (lastErr as Error).message}`, {
    hint: busy
      ? "a process still uses the mount (open files or a working directory inside it); close it or unmount with --force"
      : code === "ENOFUSE"
        ? "install FUSE's fusermount (Debian/Ubuntu: apt-get install fuse3) on the PATH of the quilt daemon"
        : undefined,
    cause: lastErr,
  });
}

/**
 * Clears a stale mount left at `path` by a killed process. Returns true if one was cleared;
 * refuses (EUSAGE) when a live mount is there, which belongs to someone still serving it.
 */
export async function clearStaleMount(path: string): Promise<boolean> {
  const state = await mountState(path);
  if (state === "none") return false;
  if (state === "live" || state === "hung") {
    throw new QuiltError(
      "EBUSY",
      `${path} is already a mount point${state === "hung" ? " (its server does not answer)" : ""}`,
      { hint: "unmount it first, or mount somewhere else" },
    );
  }
  await fusermountUnmount(path, { lazy: true });
  return true;
}

/** Where the kernel's fusectl filesystem exposes each FUSE connection. */
const FUSECTL_DIR = "/sys/fs/fuse/connections";

/**
 * Aborts the FUSE connection behind the mount at `path`: every pending and future request
 * fails at once with ENOTCONN. The last resort for a mount whose server hangs (or a process
 * that deadlocked on its own mount), after which `fusermount -uz` can remove it. Mounts
 * fusectl first when nothing has (needs root). Returns false when there is nothing to abort.
 */
export async function abortConnection(path: string): Promise<boolean> {
  const m = await mountAt(path);
  if (m === undefined || !m.fsType.startsWith("fuse")) return false;
  const minor = m.device.split(":")[1] ?? "";
  if ((await readdir(FUSECTL_DIR).catch(() => [])).length === 0) {
    await run("mount", ["-t", "fusectl", "none", FUSECTL_DIR]).catch(() => undefined);
  }
  const abortFile = `${FUSECTL_DIR}/${minor}/abort`;
  try {
    await access(abortFile);
  } catch {
    return false;
  }
  await writeFile(abortFile, "1");
  return true;
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    execFile(cmd, args, { timeout: 30_000 }, (err, _stdout, stderr) => {
      if (err) reject(Object.assign(err, { stderr }));
      else resolvePromise();
    });
  });
}
