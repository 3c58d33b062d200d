// Checks a cached object against the hash its manifest names, streaming over its blocks so
// a large object is never held in memory. Per-block checksums only prove a block is what was
// written; this proves the object is what the package says it is, which is the promise a
// top hash makes.
import { isQuiltError } from "../errors.js";
import { EntryHasher, isHashType, verifyHash, type HashType } from "../manifest/checksums.js";
import { blockCount } from "./block-layout.js";
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

/**
 * Hashes blocks 0..n-1 in order as `readBlock` returns them (undefined: not cached). The next
 * block is read while the current one is hashed, so disk and CPU overlap.
 */
export async function hashCachedObject(
  obj: CacheObject,
  blockSize: number,
  readBlock: (index: number) => Promise<Buffer | undefined>,
): Promise<HashCheck> {
  const hasher = new EntryHasher(obj.hash.type as HashType, obj.size);
  const n = blockCount(obj.size, blockSize);
  let next = n > 0 ? readBlock(0) : undefined;
  for (let i = 0; i < n; i++) {
    const block = await (next as Promise<Buffer | undefined>);
    next = i + 1 < n ? readBlock(i + 1) : undefined;
    if (!block) {
      await next?.catch(() => undefined);
      return "incomplete";
    }
    hasher.update(block);
  }
  return matchesHash(obj, await hasher.digest()) ? "ok" : "mismatch";
}

/** Hashes a whole object held in memory (a small object fetched in one request). */
export async function bytesMatch(obj: CacheObject, bytes: Buffer): Promise<boolean> {
  if (bytes.length !== obj.size) return false;
  const hasher = new EntryHasher(obj.hash.type as HashType, obj.size);
  hasher.update(bytes);
  return matchesHash(obj, await hasher.digest());
}
