// A cached object is named by what it contains, not where it lives: the manifest's hash and
// the size. Two package versions (or two mounts, or a mount and the library) that list the
// same bytes under different logical or physical keys share one copy in the cache.
import { createHash } from "node:crypto";
import { QuiltError } from "../errors.js";
import type { EntryHash } from "../manifest/checksums.js";
import type { ManifestEntry } from "../manifest/manifest.js";

/** One object as the cache sees it: its content key, its size in bytes and the hash that names it. */
export interface CacheObject {
  /** 64 lowercase hex characters: contentKey(hash, size). */
  readonly key: string;
  readonly size: number;
  readonly hash: EntryHash;
  /**
   * The content key a block file's header names when `key` is not it: a private copy of the
   * object (private-object.ts), whose files move to the content key once verified.
   */
  readonly headerKey?: string;
}

export const CONTENT_KEY_RE = /^[0-9a-f]{64}$/;

/**
 * Hex sha256 of `${type}:${value}:${size}`. The size is part of the name so that an entry whose
 * manifest claims a wrong size can never share blocks with the real object of that hash.
 * Legacy SHA256 values are hex and compared case-blind elsewhere, so they are lowercased here too.
 */
export function contentKey(hash: EntryHash, size: number): string {
  checkSize(size);
  const value = hash.type === "SHA256" ? hash.value.toLowerCase() : hash.value;
  return createHash("sha256").update(`${hash.type}:${value}:${size}`, "utf8").digest("hex");
}

export function cacheObject(hash: EntryHash, size: number): CacheObject {
  return { key: contentKey(hash, size), size, hash: { type: hash.type, value: hash.value } };
}

/** The cache identity of a manifest entry. */
export function cacheObjectForEntry(entry: Pick<ManifestEntry, "hash" | "size">): CacheObject {
  const type = entry.hash.get("type");
  const value = entry.hash.get("value");
  if (typeof type !== "string" || typeof value !== "string" || type === "" || value === "") {
    throw new QuiltError("EBADMANIFEST", "manifest entry has no hash; it cannot be cached by content");
  }
  return cacheObject({ type, value }, entry.size);
}

export function checkSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new QuiltError("EUSAGE", `invalid object size ${size}`);
  }
}
