// The FUSE operations table: each binding callback translated into a core call, each
// FsError into the binding's errno constant (core attributes are the binding's stats as they are),
// mutating operations refused by the core, and every request counted for the memory bound.
// Directories are listed through their handles (opendir, readdirPaged, releasedir): each
// open directory holds its listing, pinned to one version, and every entry goes with its
// attributes at an offset, which libfuse 3 turns into READDIRPLUS (with our patch of the
// binding, patches/). Separate from fuse-mount.ts, which mounts, unmounts and invalidates.
import Fuse from "fuse-napi";
import { log } from "../log.js";
import type { DirListing } from "./dir-listing.js";
import type { QuiltFilesystem } from "./filesystem.js";
import { type FsErrno, isFsError } from "./fs-errors.js";
import { MUTATING_OPS } from "./read-only.js";

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
  /** Pages of listings the kernel asked for. */
  readdirs: number;
}

/** Settles a core promise into a binding callback: (0, ...values) or (errno). */
function answer<T>(
  work: Promise<T>,
  cb: (err: number, ...rest: never[]) => void,
  ok: (value: T) => void,
): void {
  work.then(ok, (err: unknown) => cb(fuseErrno(err)));
}

export function operations(core: QuiltFilesystem, tally: RequestTally): Fuse.OPERATIONS {
  const listings = new Map<number, DirListing>();
  let nextListing = 1;
  const ops: Fuse.OPERATIONS = {
    getattr: (path, cb) => {
      tally.getattrs++;
      // An Attr is the binding's stat as it is (dev and rdev default to 0).
      answer(core.getattr(path ?? ""), cb, (a) => cb(0, a));
    },
    opendir: (path, _flags, cb) =>
      answer(core.openListing(path), cb, (listing) => {
        const fh = nextListing++;
        listings.set(fh, listing);
        cb(0, fh);
      }),
    readdirPaged: (_path, fh, offset, cb) => {
      tally.readdirs++;
      const listing = listings.get(Number(fh));
      if (listing === undefined) return cb(ERRNO.EBADF);
      const page = listing.page(Number(offset));
      cb(0, page.names, page.attrs, page.offsets);
    },
    releasedir: (_path, fh, cb) => {
      listings.delete(Number(fh));
      cb(0);
    },
    open: (path, flags, cb) => answer(core.open(path, flags), cb, (fh) => cb(0, fh)),
    // read's callback takes the byte count or a negative errno in its first argument.
    read: (_path, fd, buf, len, pos, cb) =>
      core.read(Number(fd), Number(pos), len).then(
        (data) => cb(data.copy(buf)),
        (err: unknown) => cb(fuseErrno(err)),
      ),
    release: (_path, fd, cb) => answer(core.release(Number(fd)), cb, () => cb(0)),
    statfs: (_path, cb) => answer(core.statfs(), cb, (s) => cb(0, s)),
    // The binding answers a size query (an empty buffer) and ERANGE (too small a buffer) itself.
    getxattr: (path, name, _position, cb) => answer(core.getxattr(path, name), cb, (value) => cb(0, value)),
    listxattr: (path, cb) => answer(core.listxattr(path), cb, (names) => cb(0, names)),
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
