// The filesystem answers with errno names, not QuiltError codes: the kernel understands a
// handful of them and programs act on them (ENOENT means "not there", EIO "try again or
// give up"). This module is the one table that turns whatever a read failed with into the
// errno a program sees, so the FUSE shell only has to look the name up in its binding.
import { isQuiltError, errnoCode } from "../errors.js";

/** The errno names the filesystem core may answer with. */
export type FsErrno =
  | "ENOENT" // no such name in the package
  | "ENOTDIR" // a path goes through a file
  | "EISDIR" // a directory opened as a file
  | "EROFS" // any write: the mount is read-only
  | "EIO" // storage or integrity failure after retries
  | "ESTALE" // the remote object no longer matches its pinned version
  | "ETIMEDOUT" // a read missed its deadline
  | "EBADF" // an unknown file handle
  | "ENODATA" // no such extended attribute (ENOATTR on Linux)
  | "EOPNOTSUPP" // an xattr namespace the mount does not have (security.*, system.*, trusted.*)
  | "ERANGE" // the caller's xattr buffer is too small
  | "E2BIG" // an xattr value larger than the kernel accepts
  | "EINVAL"; // a request that makes no sense (negative offset, ...)

const MESSAGES: Record<FsErrno, string> = {
  ENOENT: "no such file or directory",
  ENOTDIR: "not a directory",
  EISDIR: "illegal operation on a directory",
  EROFS: "read-only file system",
  EIO: "i/o error",
  ESTALE: "stale file handle",
  ETIMEDOUT: "operation timed out",
  EBADF: "bad file descriptor",
  ENODATA: "no data available",
  EOPNOTSUPP: "operation not supported",
  ERANGE: "result too large",
  E2BIG: "argument list too long",
  EINVAL: "invalid argument",
};

/** An error shaped like Node's fs errors: `ENOENT: no such file or directory, getattr '/x'`. */
export class FsError extends Error {
  readonly code: FsErrno;
  readonly syscall: string;
  readonly path: string;

  constructor(code: FsErrno, syscall: string, path: string, options: { cause?: unknown } = {}) {
    super(
      `${code}: ${MESSAGES[code]}, ${syscall} '${path}'`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "FsError";
    this.code = code;
    this.syscall = syscall;
    this.path = path;
  }
}

export function isFsError(err: unknown, code?: FsErrno): err is FsError {
  return err instanceof FsError && (code === undefined || err.code === code);
}

/**
 * The errno for an error a read failed with. A remote object that changed is ESTALE; a
 * deadline is ETIMEDOUT; anything else, including a remote object that has gone missing
 * (ENOTFOUND), is EIO: the file exists in the package, so ENOENT would tell the program
 * the path vanished when it was the storage behind it that failed.
 */
export function readErrno(err: unknown): FsErrno {
  if (err instanceof FsError) return err.code;
  if (isQuiltError(err, "ESTALE")) return "ESTALE";
  if (isQuiltError(err)) return "EIO";
  if (err instanceof Error && (err.name === "TimeoutError" || errnoCode(err) === "ETIMEDOUT"))
    return "ETIMEDOUT";
  return "EIO";
}
