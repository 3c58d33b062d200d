// Node's fs errors in the user's words. "EEXIST: file already exists, mkdir 'x'" names
// the errno and the syscall, which tell a user neither what quilt was doing nor what to do
// about it. At the library's edges (install and download destinations, directories added
// to a builder, local registries, workspaces) and in the CLI's and the daemon's last catch,
// such an error becomes a QuiltError from this one table: a code, what could not be done
// where, and a hint. Paths are rendered as untrusted text: they may hold logical keys.
import { QuiltError, errnoCode, type ErrorCode } from "./errors.js";
import { untrusted } from "./untrusted-text.js";

interface Translation {
  code: ErrorCode;
  /** Why, after "Cannot <verb> <path>: ". */
  why: string;
  hint: string;
}

const ERRNO: Record<string, Translation> = {
  ENOENT: {
    code: "ENOTFOUND",
    why: "it (or a directory above it) does not exist",
    hint: "check the path (a relative path starts from the current directory)",
  },
  ENOTDIR: {
    code: "EEXISTS",
    why: "a component of the path is a file, not a directory",
    hint: "remove or rename the file that is in the way, or choose another path",
  },
  EEXIST: {
    code: "EEXISTS",
    why: "something already exists there",
    hint: "remove or rename what is there, or choose another path",
  },
  EISDIR: {
    code: "EEXISTS",
    why: "it is a directory where a file is expected",
    hint: "remove or rename that directory, or choose another path",
  },
  ENOTEMPTY: {
    code: "EEXISTS",
    why: "the directory is not empty",
    hint: "remove or rename what is in it, or choose another path",
  },
  ENAMETOOLONG: {
    code: "EBADKEY",
    why: "a name in the path is too long for this filesystem (most allow 255 bytes per name and 4096 per path)",
    hint: "choose a shorter destination, or rename the entry (a new package version with a shorter logical key)",
  },
  EACCES: {
    code: "EPERMISSION",
    why: "permission denied",
    hint: "check the permissions of the path and of the directories above it, or choose another path",
  },
  EPERM: {
    code: "EPERMISSION",
    why: "the operation is not permitted",
    hint: "check the permissions and attributes (chattr) of the path, or choose another path",
  },
  EROFS: {
    code: "EPERMISSION",
    why: "the filesystem is read-only",
    hint: "choose a path on a writable filesystem",
  },
  ENOSPC: {
    code: "ENOSPACE",
    why: "no space left on the device",
    hint: "free some space (`quilt cache clear` frees the cache), or choose a path on another filesystem",
  },
  EDQUOT: {
    code: "ENOSPACE",
    why: "the disk quota is exceeded",
    hint: "free some space within your quota, or choose a path on another filesystem",
  },
  EFBIG: {
    code: "ENOSPACE",
    why: "the file is larger than this filesystem allows",
    hint: "choose a path on a filesystem that holds large files",
  },
  EMFILE: {
    code: "EBUSY",
    why: "this process has too many files open",
    hint: "raise the open-file limit (ulimit -n) or run fewer transfers at once",
  },
  ENFILE: {
    code: "EBUSY",
    why: "the system has too many files open",
    hint: "retry when fewer files are open",
  },
  EBUSY: { code: "EBUSY", why: "it is in use", hint: "retry once the process using it has finished with it" },
  ELOOP: {
    code: "EEXISTS",
    why: "too many symbolic links on the way (or a loop)",
    hint: "check the symbolic links in the path",
  },
  EIO: {
    code: "ESTORAGE",
    why: "the disk reported an I/O error",
    hint: "check the device (dmesg) and retry",
  },
};

/** What the failing syscall was doing, as a verb for "Cannot <verb> <path>". */
const VERB: Record<string, string> = {
  mkdir: "create the directory",
  open: "open",
  read: "read",
  write: "write",
  rename: "move into place",
  unlink: "remove",
  rmdir: "remove the directory",
  rm: "remove",
  scandir: "list the directory",
  opendir: "list the directory",
  stat: "read",
  lstat: "read",
  copyfile: "copy",
  symlink: "create the link",
  link: "create the link",
  chmod: "change the mode of",
  utime: "set the time of",
  access: "access",
  mkdtemp: "create a temporary directory in",
};

/**
 * The QuiltError for a Node fs error, or undefined when `err` is not one the table knows.
 * `as` names the operation in the user's terms where the syscall's paths are internal (a
 * temporary file renamed into place is "write DEST", not "rename TEMP to DEST").
 */
export function fromOsError(err: unknown, as?: { verb: string; path: string }): QuiltError | undefined {
  if (err instanceof QuiltError) return undefined; // its code is ours, not an errno
  const code = errnoCode(err);
  const t = code === undefined ? undefined : ERRNO[code];
  if (t === undefined) return undefined;
  const e = err as { path?: unknown; dest?: unknown; syscall?: unknown };
  const path = as?.path ?? (typeof e.path === "string" ? e.path : undefined);
  const verb = as?.verb ?? ((typeof e.syscall === "string" && VERB[e.syscall]) || "use");
  const dest = as === undefined && typeof e.dest === "string" ? ` to ${untrusted(e.dest)}` : "";
  const where = path === undefined ? "" : ` ${untrusted(path)}${dest}`;
  return new QuiltError(t.code, `Cannot ${verb}${where}: ${t.why}`, { hint: t.hint, cause: err });
}

/** Runs `fn`, turning a Node fs error it throws into a QuiltError; other errors pass unchanged. */
export async function translatingOsErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fromOsError(err) ?? err;
  }
}

/** Any error as a QuiltError: itself, a translated fs error, or EINTERNAL (a bug) with `bugHint`. */
export function asQuiltError(err: unknown, bugHint: string): QuiltError {
  if (err instanceof QuiltError) return err;
  const known = fromOsError(err);
  if (known) return known;
  const message = err instanceof Error ? err.message : String(err);
  return new QuiltError("EINTERNAL", `Unexpected error: ${untrusted(message, 1000)}`, {
    hint: bugHint,
    cause: err,
  });
}
