// Chunk digests: what lets a large object be verified piece by piece. For `sha2-256-chunked`
// entries the manifest hash is the SHA-256 of the raw SHA-256 digests of the object's chunks
// (8 MiB, doubled for huge files), so a list of digests that recombines to the manifest hash
// proves each chunk on its own: a reader of a 50 GB file gets verified bytes at streaming
// speed, and a random reader pays one chunk per chunk it touches.
//
// Digests come from two places: S3's part checksums, when the object was uploaded in the
// chunk layout with SHA-256 checksums (as quilt3 and our push do), and the cache itself,
// which records them after it has verified an object whole once (for any hash type; those
// stay in the local index, where only this cache writes).
//
// The same facts can also condemn an object before a byte of it is read: a stored checksum
// that contradicts the manifest hash (see `contradiction`).
import { createHash } from "node:crypto";
import { QuiltError } from "../errors.js";
import { chunkSizeFor, combineChunkDigests, SHA256_DIGEST_BYTES } from "../manifest/checksums.js";
import type { ObjectPart } from "../storage/object-store.js";
import type { SourceFacts } from "../storage/object-source.js";
import type { CacheObject } from "./content-key.js";

/** How an object is cut into chunks for verification, in blocks of the cache's layout. */
export interface ChunkLayout {
  chunkBytes: number;
  blocksPerChunk: number;
  chunks: number;
}

/** quilt3's chunk layout for this size, or undefined when blocks do not tile chunks (tests' odd block sizes). */
export function chunkLayout(size: number, blockSize: number): ChunkLayout | undefined {
  const chunkBytes = chunkSizeFor(size);
  if (chunkBytes % blockSize !== 0) return undefined;
  return {
    chunkBytes,
    blocksPerChunk: chunkBytes / blockSize,
    chunks: Math.max(1, Math.ceil(size / chunkBytes)),
  };
}

/** Digests that fit the object: one per chunk, and for sha2-256-chunked recombining to its hash. */
export function digestsFit(obj: CacheObject, digests: Buffer): boolean {
  const chunks = Math.max(1, Math.ceil(obj.size / chunkSizeFor(obj.size)));
  if (digests.length !== chunks * SHA256_DIGEST_BYTES) return false;
  return obj.hash.type !== "sha2-256-chunked" || combineChunkDigests(digests) === obj.hash.value;
}

/** The SHA-256 digest of chunk `c`, to compare a fetched chunk with. */
export function chunkDigest(digests: Buffer, c: number): Buffer {
  return digests.subarray(c * SHA256_DIGEST_BYTES, (c + 1) * SHA256_DIGEST_BYTES);
}

export function sha256(bytes: Uint8Array): Buffer {
  return createHash("sha256").update(bytes).digest();
}

/**
 * Digests from S3's part list, when the parts are exactly the chunks (same sizes, in order,
 * each with a SHA-256 checksum) and recombine to the manifest hash. Anything else is no
 * information, not a failure: the object may simply have been uploaded another way.
 */
export function digestsFromParts(
  obj: CacheObject,
  parts: readonly ObjectPart[] | undefined,
): Buffer | undefined {
  if (!parts || obj.hash.type !== "sha2-256-chunked") return undefined;
  const chunk = chunkSizeFor(obj.size);
  const chunks = Math.ceil(obj.size / chunk);
  if (parts.length !== chunks) return undefined;
  const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
  const out = Buffer.alloc(chunks * SHA256_DIGEST_BYTES);
  for (let c = 0; c < chunks; c++) {
    const p = sorted[c] as ObjectPart;
    const expect = Math.min(chunk, obj.size - c * chunk);
    if (p.size !== expect || p.checksumSha256 === undefined) return undefined;
    const raw = Buffer.from(p.checksumSha256, "base64");
    if (raw.length !== SHA256_DIGEST_BYTES) return undefined;
    raw.copy(out, c * SHA256_DIGEST_BYTES);
  }
  return digestsFit(obj, out) ? out : undefined;
}

/**
 * Why the store's own description of the object proves it is not the manifest's object, or
 * undefined. Only claims that cannot be true of the right bytes count: another size; a
 * whole-object SHA-256 that differs from a legacy SHA256 hash; a composite checksum over as
 * many parts as the object has chunks (the quilt3 upload layout) that differs from a
 * sha2-256-chunked hash; part checksums in the chunk layout that do not recombine to it.
 */
export function contradiction(obj: CacheObject, facts: SourceFacts): string | undefined {
  if (facts.size !== obj.size)
    return `the remote object has ${facts.size} bytes, the manifest says ${obj.size}`;
  if (obj.hash.type === "SHA256" && facts.fullSha256 !== undefined) {
    const hex = Buffer.from(facts.fullSha256, "base64").toString("hex");
    if (hex !== obj.hash.value.toLowerCase())
      return `S3's SHA-256 checksum of the object is ${hex}, the manifest says ${obj.hash.value}`;
  }
  if (obj.hash.type === "sha2-256-chunked") {
    const chunks = Math.ceil(obj.size / chunkSizeFor(obj.size));
    if (
      facts.compositeSha256 !== undefined &&
      facts.compositeParts === chunks &&
      facts.compositeSha256 !== obj.hash.value
    ) {
      return `S3's composite SHA-256 checksum of the object is ${facts.compositeSha256}, the manifest says ${obj.hash.value}`;
    }
    const parts = facts.parts;
    if (parts && parts.length === chunks && parts.every((p) => p.checksumSha256 !== undefined)) {
      const layoutMatches = [...parts]
        .sort((a, b) => a.partNumber - b.partNumber)
        .every((p, c) => p.size === Math.min(chunkSizeFor(obj.size), obj.size - c * chunkSizeFor(obj.size)));
      if (layoutMatches && digestsFromParts(obj, parts) === undefined)
        return "S3's part checksums of the object do not recombine to the manifest hash";
    }
  }
  return undefined;
}

export function refused(obj: CacheObject, reason: string): QuiltError {
  return new QuiltError(
    "EHASHMISMATCH",
    `object ${obj.key} (${obj.hash.type} ${obj.hash.value}) is refused before reading: ${reason}`,
    {
      hint: "the remote object is not the one the package names; `quilt verify` reports it",
    },
  );
}
