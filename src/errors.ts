// One error type for the whole project: a stable `code` travels unchanged through the
// library, the daemon's socket replies and the CLI (which maps it to an exit status,
// src/cli/exit-codes.ts), and a `hint` tells the user what to do next. One code per kind
// of failure, so a caller can act on it without reading the message.

/** Every code, with the kind of failure it names. */
export const ERROR_CODES = {
  EBADMANIFEST: "a manifest line is malformed or violates the format",
  EBADKEY: "a logical key could escape its directory, is malformed, or cannot be a file name here",
  EBADSPEC: "a package spec or URL cannot be parsed",
  EHASHMISMATCH: "bytes or a manifest do not match the hash that names them",
  ENOTFOUND: "package, tag, manifest, object or file is missing",
  EAMBIGUOUS: "a hash prefix matches several manifests",
  EUNREACHABLE: "the storage endpoint or the daemon cannot be reached",
  ESTORAGE: "the storage backend (or the local disk) failed after retries",
  ESTALE: "a remote object changed under its pinned version",
  EUSAGE: "the caller asked for something that cannot be done: a bad option, argument or call",
  EABORTED: "the operation was interrupted or cancelled before it finished",
  EBUSY: "a resource is in use: a mount point already mounted or busy, a daemon already running",
  ENOFUSE: "FUSE is not available: no /dev/fuse, no fusermount, or the kernel refused the mount",
  EEXISTS: "something already stands where a file or directory must go (a file in place of a directory)",
  EPERMISSION: "the operating system refused access: permission denied or a read-only filesystem",
  ENOSPACE: "no space left on the device (or quota, or a cache too small to hold what must fit)",
  EWORKFLOW:
    "the registry's workflow refuses the push: no or unknown workflow, or metadata, entries, name or message fail its rules",
  EWORKFLOWCONFIG:
    "the registry's workflows config (.quilt/workflows/config.yml) or one of its schemas is invalid or unreadable",
  EINTERNAL: "a bug: something that should not happen did",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class QuiltError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "QuiltError";
    this.code = code;
    this.hint = options.hint;
  }
}

export function isQuiltError(err: unknown, code?: ErrorCode): err is QuiltError {
  return err instanceof QuiltError && (code === undefined || err.code === code);
}

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && Object.hasOwn(ERROR_CODES, code);
}

/** The message of whatever was thrown (a library may throw a string). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Node's fs errors carry a string `code` such as ENOENT. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === "object" && err !== null && "code" in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}
