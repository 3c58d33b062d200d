// What a mount asks the kernel for: the -o string libfuse passes to mount(8) (read-only,
// the kernel's cache lifetimes, the name in the mount table) from a mount's options, and the
// mount point's checks that those options relax (nonEmpty). Stable inode numbers (libfuse
// 2's use_ino) are no option in libfuse 3: our patch of the binding sets them (patches/).
// Separate from fuse-mount.ts: no binding is needed to build or test them
// (bench-binding-floor.ts mounts with the same string).
import { readdir, stat } from "node:fs/promises";
import { QuiltError, errnoCode } from "../errors.js";

/**
 * Kernel entry/attribute/negative cache lifetime, seconds: a version's tree never changes,
 * so the kernel may keep what it learned for an hour and repeated walks never reach the
 * daemon. A switch to another version tells the kernel to forget it (kernel-invalidate.ts).
 */
export const KERNEL_CACHE_SECONDS = 3600;
/**
 * Requests the binding serves at once (its bound, at most 64; libfuse 2's loop had none):
 * each holds one of its threads until JavaScript answers, and reads may wait on the network.
 */
export const FUSE_MAX_CONCURRENCY = 64;
export interface MountOptions {
  /** Let other users read the mount (needs user_allow_other in /etc/fuse.conf for non-root). */
  allowOther?: boolean;
  /** libfuse's debug output on stderr. */
  debug?: boolean;
  /** Mount over a directory that is not empty (hiding what it holds; libfuse 3 needs no option for it). */
  nonEmpty?: boolean;
  /** Names the mount in the mount table, e.g. the package name and hash: "quilt:<name>". */
  name?: string;
}

/** fuse_opt splits on commas and mount(8) on spaces: keep the name to a safe alphabet. */
function fsName(name: string | undefined): string {
  return ("quilt:" + (name ?? "package")).replace(/[^A-Za-z0-9._@:/+=-]/g, "_").slice(0, 200);
}

export function mountOptionString(options: MountOptions): string {
  const t = KERNEL_CACHE_SECONDS;
  // auto_cache, not kernel_cache: the page cache is kept across opens while a file's mtime
  // stays put (the data is immutable), and dropped at the next open once the core reports a
  // file as failed (another mtime); ac_attr_timeout=0 makes libfuse ask on every open.
  const opts = [
    "ro",
    "default_permissions",
    "auto_cache",
    "ac_attr_timeout=0",
    `entry_timeout=${t}`,
    `attr_timeout=${t}`,
    `negative_timeout=${t}`,
    `fsname=${fsName(options.name)}`,
    "subtype=quilt",
  ];
  if (options.allowOther) opts.push("allow_other");
  if (options.debug) opts.push("debug");
  return "-o" + opts.join(",");
}

export async function checkMountpoint(mnt: string, options: MountOptions): Promise<void> {
  try {
    if (!(await stat(mnt)).isDirectory()) throw new QuiltError("EUSAGE", `${mnt} is not a directory`);
  } catch (err) {
    if (errnoCode(err) === "ENOENT")
      throw new QuiltError("EUSAGE", `Mount point ${mnt} does not exist`, {
        hint: "create the directory first",
      });
    throw err;
  }
  if (!options.nonEmpty && (await readdir(mnt)).length > 0) {
    throw new QuiltError("EUSAGE", `Mount point ${mnt} is not empty`, {
      hint: "mount on an empty directory, or pass --nonempty to hide its contents",
    });
  }
}
