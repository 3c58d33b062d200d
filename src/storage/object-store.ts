// The one interface every byte source implements: S3 (s3-store.ts), a local directory
// (local-store.ts, the embedded default registry) and memory (memory-store.ts, for unit
// tests, counting requests and injecting failures). Everything above src/storage talks to
// this interface only, so the same scenario runs against each backend.
//
// Addressing: `bucket` names the container. For S3 it is the bucket name; for the local
// store it is an absolute directory path ("/" for `file:///abs/path` physical keys); for
// memory it is any name. `key` is always relative to the bucket, `/`-separated, no leading `/`.
//
// Errors: every implementation throws QuiltError (src/errors.ts) with code
//   ENOTFOUND     no such bucket, key or version
//   ESTALE        the object no longer matches the pinned versionId/etag (precondition failed)
//   EUNREACHABLE  the endpoint cannot be reached after retries
//   ESTORAGE      any other failure after retries
import type { Readable } from "node:stream";

export interface ObjectLocation {
  bucket: string;
  key: string;
  /** Pin reads to this version (S3 versionId). */
  versionId?: string;
  /** Pin reads to this ETag (If-Match) when there is no versionId. */
  etag?: string;
}

/** Inclusive-exclusive byte range: [start, end). */
export interface ByteRange {
  start: number;
  end: number;
}

export interface GetOptions {
  range?: ByteRange;
  signal?: AbortSignal;
  /** Told of each failed attempt the store is about to repeat (for counters such as fault-counters.ts). */
  onRetry?: (err: unknown) => void;
}

export interface ObjectHead {
  size: number;
  etag?: string;
  versionId?: string;
  lastModified?: Date;
  /** Base64 SHA-256 of the whole object when the store has one (S3 ChecksumSHA256, full-object). */
  checksumSha256?: string;
  /**
   * Base64 SHA-256 over the parts' SHA-256 digests of a multipart object (S3 composite
   * checksum, without its "-N" suffix). With 8 MiB parts it equals the sha2-256-chunked hash.
   */
  compositeSha256?: string;
  /** How many parts the composite checksum covers (its "-N"). */
  compositeParts?: number;
}

/** One part of a multipart object as S3 reports it (GetObjectAttributes, ObjectParts). */
export interface ObjectPart {
  partNumber: number;
  size: number;
  /** Base64 SHA-256 of the part's bytes, when the object was uploaded with SHA-256 checksums. */
  checksumSha256?: string;
}

export type PutBody = Buffer | Uint8Array | string | { path: string };

export interface PutOptions {
  contentType?: string;
  signal?: AbortSignal;
  /** Progress in bytes uploaded so far (called from multipart uploads). */
  onProgress?: (bytesDone: number) => void;
}

export interface PutResult {
  versionId?: string;
  etag?: string;
  /** Base64 SHA-256 checksum the store computed (S3 ChecksumSHA256; composite for multipart). */
  checksumSha256?: string;
}

export interface ListOptions {
  /** With "/", keys below the next "/" after the prefix are folded into `commonPrefix` entries. */
  delimiter?: string;
  /**
   * List each key's current version with its versionId (S3 ListObjectVersions), so a
   * caller pinning a million objects needs no HEAD per object. Stores that cannot tell
   * leave `versionId` undefined.
   */
  versions?: boolean;
}

export type ListEntry =
  /**
   * versionId: the current version; null when the object has none (an unversioned bucket, a
   * server without versioning); undefined when the listing did not say.
   */
  | {
      kind: "object";
      key: string;
      size: number;
      etag?: string;
      lastModified?: Date;
      versionId?: string | null;
    }
  | { kind: "prefix"; prefix: string };

export interface ObjectStore {
  /** URL scheme of physical keys served by this store. */
  readonly scheme: "s3" | "file" | "memory";

  /** Whole object or a byte range, buffered. Use for manifests, pointers and blocks. */
  get(loc: ObjectLocation, opts?: GetOptions): Promise<Buffer>;
  /** Whole object or a byte range as a stream, for large transfers and streaming hashes. */
  getStream(loc: ObjectLocation, opts?: GetOptions): Promise<Readable>;
  head(loc: ObjectLocation): Promise<ObjectHead>;
  /**
   * The parts of a multipart object with their checksums (S3 only; other stores have no
   * parts). Undefined when the store cannot say: the caller then has no part digests.
   */
  objectParts?(loc: ObjectLocation): Promise<ObjectPart[] | undefined>;
  /** Writes atomically (a reader sees the old object or the new one); multipart above a size threshold. */
  put(loc: Omit<ObjectLocation, "versionId" | "etag">, body: PutBody, opts?: PutOptions): Promise<PutResult>;
  /** Lists in key order (UTF-8 byte order, as S3 does). */
  list(bucket: string, prefix: string, opts?: ListOptions): AsyncIterable<ListEntry>;
  delete(loc: ObjectLocation): Promise<void>;
  copy(
    src: ObjectLocation,
    dst: Omit<ObjectLocation, "versionId" | "etag">,
    opts?: PutOptions,
  ): Promise<PutResult>;
  /** Releases sockets, handles. Idempotent. */
  close(): Promise<void>;
}
