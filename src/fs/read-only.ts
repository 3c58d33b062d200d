// The mount is read-only: the requests that would change the tree or a file, each answered
// EROFS, and the open(2) flags that ask for writing.
import { constants as fsConstants } from "node:fs";

/** Every operation that would change the tree or a file; each answers EROFS. */
export const MUTATING_OPS = [
  "write",
  "create",
  "mknod",
  "mkdir",
  "unlink",
  "rmdir",
  "rename",
  "link",
  "symlink",
  "truncate",
  "ftruncate",
  "chmod",
  "chown",
  "utimens",
  "setxattr",
  "removexattr",
] as const;
export type MutatingOp = (typeof MUTATING_OPS)[number];

/** The access-mode bits of open(2) flags (Linux; Node's constants lack it). */
const O_ACCMODE = 0o3;

/** True when open(2) flags ask for any write access (or truncation), which the mount refuses. */
export function opensForWriting(flags: number): boolean {
  return (flags & O_ACCMODE) !== fsConstants.O_RDONLY || (flags & fsConstants.O_TRUNC) !== 0;
}
