// One error type for the whole project: a stable `code` travels unchanged through the
// library, the daemon's socket replies and the CLI (which maps it to an exit status),
// and a `hint` tells the user what to do next.

export type ErrorCode =
  | "EBADMANIFEST" // a manifest line is malformed or violates the format
  | "EBADKEY" // a logical key could escape its directory or is malformed
  | "EBADSPEC" // a package spec or URL cannot be parsed
  | "EHASHMISMATCH" // bytes or a manifest do not match the hash that names them
  | "ENOTFOUND" // package, tag, manifest, object or file is missing
  | "EAMBIGUOUS" // a hash prefix matches several manifests
  | "EUNREACHABLE" // the storage endpoint cannot be reached
  | "ESTORAGE" // the storage backend failed after retries
  | "ESTALE" // a remote object changed under its pinned version
  | "EUSAGE" // the caller asked for something that cannot be done
  | "EINTERNAL";

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

/** Node's fs errors carry a string `code` such as ENOENT. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === "object" && err !== null && "code" in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}
