// What the block cache reads one entry's bytes from. Three things, none of them S3-specific:
// - ranged reads, pinned to one version of the object (versionId from the physical key, else
//   the ETag seen by `inspect`), so bytes of two versions never meet in one cached object;
// - a name for the source (endpoint and physical key), because bytes that have not yet
//   matched their manifest hash are cached under their source, never under their content:
//   the top hash does not cover physical keys, so content alone would let one registry's
//   bytes stand in for another's;
// - one look at the object before its first unverified byte (HEAD with checksums, and the
//   part checksums where the store keeps them), from which the cache may learn chunk digests
//   or refuse an object whose stored checksum already contradicts the manifest.
import type { ByteRange, ObjectPart } from "./object-store.js";

export interface SourceFacts {
  size: number;
  /** The version later reads are pinned to (versionId, else ETag): part of the private cache key. */
  version?: string;
  /** ETag to pin reads with (If-Match) when the physical key names no version. */
  pinEtag?: string;
  /** Base64 SHA-256 of the whole object (a single-part upload with checksums). */
  fullSha256?: string;
  /** Base64 S3 composite SHA-256 (over part digests), without its "-N" suffix. */
  compositeSha256?: string;
  /** The "-N" of the composite checksum: how many parts it covers. */
  compositeParts?: number;
  parts?: ObjectPart[];
}

export interface ObjectSource {
  /** Who serves these bytes: endpoint and physical key. Names private cache entries; not secret. */
  readonly id: string;
  /** Bytes [start, end), pinned to `pinEtag` when given. */
  fetch(range: ByteRange, signal?: AbortSignal, pinEtag?: string): Promise<Buffer>;
  /** One HEAD (and the part list when `parts`); the caller keeps the answer. Absent: nothing to ask. */
  inspect?(opts: { parts: boolean }): Promise<SourceFacts>;
}
