// Exit statuses, the same for every command, so scripts can tell a difference found from
// bad usage from a failure. Each QuiltError code maps to one status (a Record, so a new
// code does not compile until it has one); README's table and `quilt --help` list them,
// and a unit test holds the README to this file.
import type { ErrorCode } from "../errors.js";

export const EXIT_OK = 0;
/** A check ran and found a difference (verify, status of a modified directory). */
export const EXIT_DIFFERENCE = 1;
/** Bad usage: unknown command or option, missing or invalid argument. */
export const EXIT_USAGE = 2;
export const EXIT_ERROR = 3;
export const EXIT_NOT_FOUND = 4;
export const EXIT_INTEGRITY = 5;
export const EXIT_UNREACHABLE = 6;
/** Something is in use; retrying once it is free may work. */
export const EXIT_BUSY = 7;
export const EXIT_NO_FUSE = 8;
/** The registry's workflow (quilt3's .quilt/workflows/config.yml) refused the push, or its config is broken. */
export const EXIT_WORKFLOW = 9;
/** 128 + SIGINT, what a shell reports for a command stopped by Ctrl-C. */
export const EXIT_ABORTED = 130;

const STATUS_OF: Record<ErrorCode, number> = {
  EUSAGE: EXIT_USAGE,
  EBADSPEC: EXIT_USAGE,
  EBADKEY: EXIT_ERROR,
  EAMBIGUOUS: EXIT_ERROR,
  ESTORAGE: EXIT_ERROR,
  EEXISTS: EXIT_ERROR,
  EPERMISSION: EXIT_ERROR,
  ENOSPACE: EXIT_ERROR,
  EINTERNAL: EXIT_ERROR,
  ENOTFOUND: EXIT_NOT_FOUND,
  EHASHMISMATCH: EXIT_INTEGRITY,
  EBADMANIFEST: EXIT_INTEGRITY,
  ESTALE: EXIT_INTEGRITY,
  EUNREACHABLE: EXIT_UNREACHABLE,
  EBUSY: EXIT_BUSY,
  ENOFUSE: EXIT_NO_FUSE,
  EWORKFLOW: EXIT_WORKFLOW,
  EWORKFLOWCONFIG: EXIT_WORKFLOW,
  EABORTED: EXIT_ABORTED,
};

/** What each status means, in order: `quilt --help` prints these lines. */
export const EXIT_STATUS_MEANINGS: [number, string][] = [
  [EXIT_OK, "success"],
  [EXIT_DIFFERENCE, "a check found a difference (verify, status)"],
  [EXIT_USAGE, "bad usage: unknown command or option, invalid argument or spec"],
  [
    EXIT_ERROR,
    "failed: storage error after retries, a path in the way, permission denied, disk full, bad key, or a bug",
  ],
  [EXIT_NOT_FOUND, "not found: package, tag, hash, object or file"],
  [EXIT_INTEGRITY, "integrity: bytes or a manifest do not match their hash, or the manifest is malformed"],
  [EXIT_UNREACHABLE, "unreachable: the storage endpoint or the daemon does not answer"],
  [EXIT_BUSY, "busy: a mount point already mounted or in use, a daemon already running"],
  [EXIT_NO_FUSE, "FUSE unavailable: no /dev/fuse or fusermount, or the kernel refused the mount"],
  [EXIT_WORKFLOW, "workflow: the registry's workflow refused the push, or its workflows config is invalid"],
  [EXIT_ABORTED, "interrupted (Ctrl-C) or cancelled"],
];

export function exitCodeFor(code: ErrorCode | undefined): number {
  return code === undefined ? EXIT_ERROR : STATUS_OF[code];
}

/** The exit-status list for `quilt --help`. */
export function exitStatusHelp(): string {
  return (
    "Exit status:\n" +
    EXIT_STATUS_MEANINGS.map(([n, what]) => `  ${String(n).padStart(3)}  ${what}`).join("\n")
  );
}
