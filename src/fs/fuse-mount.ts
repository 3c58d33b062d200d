// The thin FUSE shell: the only module that imports the binding (@cocalc/fuse-native, a
// libfuse 2 high-level, path-based API). It mounts a QuiltFilesystem and translates each
// callback into a core call and each FsError into the binding's errno constant; all
// decisions live in the core. Three binding internals are replaced on a subclass (the
// version is pinned, and the integration tests mount for real):
//   _fuseOptions   the binding only knows a fixed option list; we need ro, use_ino and
//                  negative_timeout too, so we pass our own -o string.
//   _op_getxattr,
//   _op_listxattr  the binding neither tells the handler the caller's buffer size nor
//                  answers ERANGE, which Python's os.getxattr relies on for values over
//                  128 bytes.
//   _close         unmounts with fusermount -u (busy mounts are refused) or -uz (--force),
//                  where the binding always detaches lazily.
import FuseImport from "@cocalc/fuse-native";
import { readdir, stat } from "node:fs/promises";
import { QuiltError, errnoCode } from "../errors.js";
import { log } from "../log.js";
import type { QuiltFilesystem } from "./filesystem.js";
import type { Attr } from "./node-attrs.js";
import { MUTATING_OPS } from "./read-only.js";
import { type FsErrno, isFsError } from "./fs-errors.js";
import { assertFuseAvailable } from "./fuse-available.js";
import { mountDescriptor, nativeBinding, recordMountDescriptors } from "./fuse-device.js";
import { afterInvalidations, invalidateRootNames } from "./kernel-invalidate.js";
import { canonicalMountPath, clearStaleMount, fusermountUnmount, mountAt } from "./mount-table.js";

// The package's types declare an ES default export; at run time module.exports is the class.
const Fuse = FuseImport as unknown as typeof FuseImport.default;
type FuseStats = FuseImport.default.Stats;
type Signal = (result: number, ...rest: unknown[]) => void;

/**
 * Kernel entry/attribute/negative cache lifetime, seconds: a version's tree never changes,
 * so the kernel may keep what it learned for an hour and repeated walks never reach the
 * daemon. A switch to another version tells the kernel to forget it (kernel-invalidate.ts).
 */
export const KERNEL_CACHE_SECONDS = 3600;
/** Operations the core answers from the tree without the reader (and so without I/O). */
const TREE_OPS = ["getattr", "readdir", "getxattr", "listxattr", "statfs"] as const;
/** How long a mount may take to answer the kernel's INIT before we give up, ms. */
const MOUNT_TIMEOUT_MS = 15_000;
/** Answers the binding gives by itself when an op overruns; above the core's own read deadline. */
const BINDING_TIMEOUT_MARGIN_MS = 10_000;

const ERRNO: Record<FsErrno, number> = {
  ENOENT: Fuse.ENOENT,
  ENOTDIR: Fuse.ENOTDIR,
  EISDIR: Fuse.EISDIR,
  EROFS: Fuse.EROFS,
  EIO: Fuse.EIO,
  ESTALE: Fuse.ESTALE,
  ETIMEDOUT: Fuse.ETIMEDOUT,
  EBADF: Fuse.EBADF,
  ENODATA: Fuse.ENODATA,
  EOPNOTSUPP: Fuse.EOPNOTSUPP,
  ERANGE: Fuse.ERANGE,
  E2BIG: Fuse.E2BIG,
  EINVAL: Fuse.EINVAL,
};

/** The binding's (negative) errno for an error from the core; never -1 (EPERM). */
export function fuseErrno(err: unknown): number {
  if (isFsError(err)) return ERRNO[err.code];
  log().error({ err }, "unexpected error in a filesystem operation");
  return ERRNO.EIO;
}

export interface MountOptions {
  /** Let other users read the mount (needs user_allow_other in /etc/fuse.conf for non-root). */
  allowOther?: boolean;
  /** libfuse's debug output on stderr. */
  debug?: boolean;
  /** Mount over a directory that is not empty (hiding what it holds). */
  nonEmpty?: boolean;
  /** Names the mount in the mount table, e.g. the package name and hash: "quilt:<name>". */
  name?: string;
}

/** Requests the kernel sent a mount: all of them, and getattrs (each lookup of a name the kernel does not hold is one). */
export interface RequestTally {
  requests: number;
  getattrs: number;
}

export interface MountHandle {
  readonly mountpoint: string;
  readonly tally: Readonly<RequestTally>;
  /** Tells this mount's kernel to forget these root-level names (and everything unused below them). */
  invalidateRootNames(names: Iterable<string>): Promise<{ notices: number }>;
  /** Unmounts; refuses a busy mount unless `force`, which detaches it lazily. Idempotent. */
  unmount(opts?: { force?: boolean }): Promise<void>;
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
    "use_ino",
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
  if (options.nonEmpty) opts.push("nonempty");
  if (options.debug) opts.push("debug");
  return "-o" + opts.join(",");
}

export async function mount(
  core: QuiltFilesystem,
  mountpoint: string,
  options: MountOptions = {},
): Promise<MountHandle> {
  const mnt = await canonicalMountPath(mountpoint);
  await assertFuseAvailable();
  await clearStaleMount(mnt);
  await checkMountpoint(mnt, options);
  recordMountDescriptors();
  const tally: RequestTally = { requests: 0, getattrs: 0 };
  const fuse = new QuiltFuse(mnt, core, mountOptionString(options), tally);
  try {
    await withTimeout(
      new Promise<void>((resolve, reject) => fuse.mount((err) => (err ? reject(err) : resolve()))),
      MOUNT_TIMEOUT_MS,
      `mounting ${mnt} timed out`,
    );
  } catch (err) {
    await fusermountUnmount(mnt, { lazy: true }).catch(() => undefined);
    throw new QuiltError("ENOFUSE", `Cannot mount on ${mnt}: ${(err as Error).message}`, {
      cause: err,
      hint: "is FUSE available (/dev/fuse, fusermount) and allowed here (in a container: --device /dev/fuse --cap-add SYS_ADMIN)?",
    });
  }
  let unmounted = false;
  return {
    mountpoint: mnt,
    tally,
    // The mount's own descriptor; every one when it is not known; none once it is unmounting.
    invalidateRootNames: (names) =>
      invalidateRootNames(names, () => (fuse.unmounting ? undefined : (mountDescriptor(fuse) ?? "all"))),
    async unmount(opts = {}) {
      if (unmounted) return;
      fuse.forceUnmount = opts.force === true;
      await new Promise<void>((resolve, reject) => fuse.unmount((err) => (err ? reject(err) : resolve())));
      unmounted = true;
    },
  };
}

async function checkMountpoint(mnt: string, options: MountOptions): Promise<void> {
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

function toStats(a: Attr): FuseStats {
  return {
    mode: a.mode,
    uid: a.uid,
    gid: a.gid,
    size: a.size,
    dev: 0,
    nlink: a.nlink,
    ino: a.ino,
    rdev: 0,
    blksize: a.blksize,
    blocks: a.blocks,
    atime: a.atime,
    mtime: a.mtime,
    ctime: a.ctime,
  };
}

/** Settles a core promise into a binding callback: (0, ...values) or (errno). */
function answer<T>(
  work: Promise<T>,
  cb: (err: number, ...rest: never[]) => void,
  ok: (value: T) => void,
): void {
  work.then(ok, (err: unknown) => cb(fuseErrno(err)));
}

function operations(core: QuiltFilesystem, tally: RequestTally): FuseImport.default.OPERATIONS {
  const ops: FuseImport.default.OPERATIONS = {
    getattr: (path, cb) => {
      tally.getattrs++;
      answer(core.getattr(path), cb, (a) => cb(0, toStats(a)));
    },
    // The binding turns each stat into an array whose times default to now: zero them.
    readdir: (path, cb) =>
      answer(core.dirents(path), cb, (ds) =>
        cb(
          0,
          ds.map((d) => d.name),
          ds.map((d) => ({ ino: d.ino, mode: d.mode, atime: 0, mtime: 0, ctime: 0 }) as unknown as FuseStats),
        ),
      ),
    open: (path, flags, cb) => answer(core.open(path, flags), cb, (fh) => cb(0, fh)),
    // read's callback takes the byte count or a negative errno in its first argument.
    read: (_path, fd, buf, len, pos, cb) =>
      core.read(fd, pos, len).then(
        (data) => cb(data.copy(buf)),
        (err: unknown) => cb(fuseErrno(err)),
      ),
    release: (_path, fd, cb) => answer(core.release(fd), cb, () => cb(0)),
    statfs: (_path, cb) => answer(core.statfs(), cb, (s) => cb(0, s)),
    // Marked implemented here; QuiltFuse's _op_getxattr/_op_listxattr answer them.
    getxattr: (_path, _name, _size, cb) => cb(ERRNO.EIO),
    listxattr: (_path, cb) => cb(ERRNO.EIO),
  };
  const byName = ops as Record<string, unknown>;
  for (const op of MUTATING_OPS) {
    byName[op] = (path: string, ...rest: unknown[]) => {
      const cb = rest[rest.length - 1] as (err: number) => void;
      core.refuse(op, path).catch((err: unknown) => cb(fuseErrno(err)));
    };
  }
  // One increment per request: how the memory bound tells an idle mount (daemon/names-upkeep.ts).
  for (const [name, op] of Object.entries(byName)) {
    if (typeof op !== "function") continue;
    byName[name] = (...args: unknown[]) => {
      tally.requests++;
      return (op as (...a: unknown[]) => unknown)(...args);
    };
  }
  return ops;
}

class QuiltFuse extends Fuse {
  forceUnmount = false;
  /** Set once unmounting began: no invalidation notice is sent to its descriptor from then on. */
  unmounting = false;

  constructor(
    mnt: string,
    private readonly core: QuiltFilesystem,
    private readonly optionString: string,
    private readonly tally: RequestTally,
  ) {
    // The binding takes per-operation timeouts as an object (its types only admit a number).
    // Operations answered from the tree alone always settle: no timer each (one per lookup).
    const timeout: Record<string, number | false> = {
      default: core.readTimeoutMs,
      read: core.readTimeoutMs + BINDING_TIMEOUT_MARGIN_MS,
    };
    for (const op of [...TREE_OPS, ...MUTATING_OPS]) timeout[op] = false;
    super(mnt, operations(core, tally), { timeout: timeout as unknown as number });
  }

  _fuseOptions(): string {
    return this.optionString;
  }

  _op_getxattr(signal: Signal, path: string, name: string, valueBuf: Buffer): void {
    this.tally.requests++;
    this.core.getxattr(path, name).then(
      (value) => signal(fitBuffer(value, valueBuf), valueBuf.buffer),
      (err: unknown) => signal(fuseErrno(err), valueBuf.buffer),
    );
  }

  _op_listxattr(signal: Signal, path: string, listBuf: Buffer): void {
    this.tally.requests++;
    this.core.listxattr(path).then(
      (names) =>
        signal(fitBuffer(Buffer.from(names.map((n) => n + "\0").join(""), "utf8"), listBuf), listBuf.buffer),
      (err: unknown) => signal(fuseErrno(err), listBuf.buffer),
    );
  }

  _close(cb: (err: Error | null) => void): void {
    // Someone may have unmounted it from outside already (fusermount -u): then only the
    // binding's cleanup is left to do.
    // No invalidation notice may be on its way to this mount's descriptor when it closes.
    this.unmounting = true;
    afterInvalidations()
      .then(() => mountAt(this.mnt))
      .then((m) => (m === undefined ? undefined : fusermountUnmount(this.mnt, { lazy: this.forceUnmount })))
      .then(
        () => {
          releaseNativeLoop(this);
          cb(null);
        },
        (err: Error) => {
          // Refused (busy): still mounted, and a switch must still reach its kernel.
          this.unmounting = false;
          cb(err);
        },
      );
  }
}

/**
 * The xattr protocol: an empty buffer asks for the size; a buffer too small for the value
 * answers ERANGE (the caller retries with a bigger one).
 */
function fitBuffer(value: Buffer, target: Buffer): number {
  if (target.length === 0) return value.length;
  if (value.length > target.length) return ERRNO.ERANGE;
  value.copy(target);
  return value.length;
}

/** The binding's own cleanup after an unmount: lets Node's event loop exit again. */
function releaseNativeLoop(fuse: QuiltFuse): void {
  nativeBinding().fuse_native_unmount(fuse.mnt, (fuse as unknown as { _thread: Buffer })._thread);
}

function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
