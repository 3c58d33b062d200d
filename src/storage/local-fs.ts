// The rules that map keys of the local-directory store to files: which keys are allowed
// (none may escape the bucket directory), how a key becomes a path, how temp files are
// named, what the ETag of a file is, and how fs errors become QuiltErrors.
import { isAbsolute, join } from "node:path";
import { QuiltError, errnoCode } from "../errors.js";
import { fromOsError } from "../os-errors.js";
import { quoted } from "../untrusted-text.js";

/** Our temp files, `.<name>.<12 hex>.tmp`; never listed, and left-overs of a crash are garbage. */
export const TEMP_RE = /^\..+\.[0-9a-f]{12}\.tmp$/;

export interface StatLike {
  size: number | bigint;
  mtimeNs: bigint;
  mtimeMs: number | bigint;
}

/** `${mtimeNs}-${size}`: see local-store.ts for why this identifies a file version. */
export function localEtag(st: StatLike): string {
  return `${st.mtimeNs}-${st.size}`;
}

/** The file path of `key` in `bucket`, refusing keys that could escape the bucket directory. */
export function objectPath(bucket: string, key: string): string {
  checkBucket(bucket);
  checkKeyChars(key);
  if (key === "" || key.startsWith("/"))
    throw new QuiltError("EBADKEY", `invalid key ${quoted(key)}: keys are relative and not empty`);
  for (const part of key.split("/")) {
    if (part === "" || part === "." || part === "..") {
      throw new QuiltError(
        "EBADKEY",
        `invalid key ${quoted(key)}: empty, "." or ".." path components are not allowed`,
      );
    }
  }
  return join(bucket, key);
}

/** A list prefix may end mid-name, but the directories it names must be valid key components. */
export function checkPrefix(bucket: string, prefix: string): void {
  const dir = prefix.slice(0, prefix.lastIndexOf("/") + 1);
  if (dir === "") {
    checkBucket(bucket);
    checkKeyChars(prefix);
  } else {
    objectPath(bucket, dir.slice(0, -1));
    checkKeyChars(prefix);
  }
}

function checkBucket(bucket: string): void {
  if (!isAbsolute(bucket) || bucket.includes("\0")) {
    throw new QuiltError(
      "EUSAGE",
      `local store bucket must be an absolute directory path, got ${quoted(bucket)}`,
    );
  }
}

function checkKeyChars(key: string): void {
  if (key.includes("\0")) throw new QuiltError("EBADKEY", `invalid key ${quoted(key)}: contains NUL`);
}

export function fsError(err: unknown, op: string, path: string): QuiltError {
  if (err instanceof QuiltError) return err;
  const code = errnoCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") {
    return new QuiltError("ENOTFOUND", `${path}: no such object`, { cause: err });
  }
  return fromOsError(err) ?? new QuiltError("ESTORAGE", `${op} ${path}: ${message}`, { cause: err });
}
