// The FUSE operations table: each binding callback translated into a core call, each
// FsError into the binding's errno constant, each core attribute into the binding's stat,
// mutating operations refused by the core, and every request counted for the memory bound.
// Separate from fuse-mount.ts, which mounts, unmounts and replaces the binding's internals.
import FuseImport from "@cocalc/fuse-native";
import { log } from "../log.js";
import type { QuiltFilesystem } from "./filesystem.js";
import { type FsErrno, isFsError } from "./fs-errors.js";
import type { Attr } from "./node-attrs.js";
import { MUTATING_OPS } from "./read-only.js";

// The package's types declare an ES default export; at run time module.exports is the class.
const Fuse = FuseImport as unknown as typeof FuseImport.default;
type FuseStats = FuseImport.default.Stats;

export const ERRNO: Record<FsErrno, number> = {
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

/** Requests the kernel sent a mount: all of them, and getattrs (each lookup of a name the kernel does not hold is one). */
export interface RequestTally {
  requests: number;
  getattrs: number;
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

export function operations(core: QuiltFilesystem, tally: RequestTally): FuseImport.default.OPERATIONS {
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
    // Marked implemented here; QuiltFuse's _op_getxattr/_op_listxattr (fuse-mount.ts) answer them.
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

/**
 * The xattr protocol: an empty buffer asks for the size; a buffer too small for the value
 * answers ERANGE (the caller retries with a bigger one).
 */
export function fitBuffer(value: Buffer, target: Buffer): number {
  if (target.length === 0) return value.length;
  if (value.length > target.length) return ERRNO.ERANGE;
  value.copy(target);
  return value.length;
}
