// Checks bytes against the hash their manifest names. Per-block checksums only prove a block
// is what was written; this proves the object is what the package says it is, which is the
// promise a top hash makes. (Streaming a cached object through it: private-object.ts.)
import { isQuiltError } from "../errors.js";
import { EntryHasher, isHashType, verifyHash, type HashType } from "../manifest/checksums.js";
import type { CacheObject } from "./content-key.js";

export type HashCheck = "ok" | "mismatch" | "incomplete";

/** Whether we can compute the object's hash type (manifests may name types we do not know). */
export function canVerify(obj: CacheObject): boolean {
  return isHashType(obj.hash.type);
}

export function matchesHash(obj: CacheObject, actual: { type: string; value: string }): boolean {
  try {
    verifyHash(obj.hash, actual);
    return true;
  } catch (err) {
    if (isQuiltError(err, "EHASHMISMATCH")) return false;
    throw err;
  }
}

/** Hashes a whole object held in memory (a small object fetched in one request). */
export async function bytesMatch(obj: CacheObject, bytes: Buffer): Promise<boolean> {
  if (bytes.length !== obj.size) return false;
  const hasher = new EntryHasher(obj.hash.type as HashType, obj.size);
  hasher.update(bytes);
  return matchesHash(obj, await hasher.digest());
}
