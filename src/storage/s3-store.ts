// The S3 ObjectStore. Every read is pinned (VersionId, else If-Match on the ETag) so bytes
// of two object versions can never be mixed in one cached file; every request goes through
// one retry policy and one error mapping (s3-requests.ts); large puts and copies go
// multipart (s3-multipart.ts) in quilt3's part layout. Listing (s3-list.ts) and part
// checksums (s3-object-parts.ts) are functions of their own beside it.
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { open, readFile, stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { QuiltError, errnoCode } from "../errors.js";
import type {
  GetOptions,
  ListEntry,
  ListOptions,
  ObjectHead,
  ObjectLocation,
  ObjectPart,
  ObjectStore,
  PutBody,
  PutOptions,
} from "./object-store.js";
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry.js";
import { buildS3Client, type ResolvedS3Client, type S3ClientOptions } from "./s3-client.js";
import {
  bodyStream,
  compositeChecksum,
  compositePartCount,
  emptyOnInvalidRange,
  fullObjectChecksum,
  getParams,
  pin,
  readAll,
} from "./s3-get.js";
import { listS3 } from "./s3-list.js";
import {
  copyMultipart,
  copySource,
  filePartReader,
  partSizeFor,
  uploadMultipart,
  type S3PutResult,
} from "./s3-multipart.js";
import { objectParts } from "./s3-object-parts.js";
import { S3Requests } from "./s3-requests.js";
import { bodyBytes, checkRange, isPathBody, throwIfAborted } from "./store-helpers.js";

export type { S3PutResult } from "./s3-multipart.js";

export interface S3StoreOptions extends S3ClientOptions {
  /** Attempts per request including the first (default 5). */
  maxAttempts?: number;
  /** Backoff tuning; tests set tiny delays. */
  retry?: Partial<RetryPolicy>;
  /** Puts of at least this many bytes go multipart (default 8 MiB, quilt3's threshold). */
  multipartThreshold?: number;
  /** Smallest part size, doubled for huge objects (default 8 MiB; S3's minimum is 5 MiB). */
  partSize?: number;
  /** Parts uploaded at once (default 8; fewer for huge parts, see MULTIPART_MEMORY_BYTES). */
  uploadConcurrency?: number;
  /** Copies of more than this many bytes use UploadPartCopy (default 5 GiB, CopyObject's limit). */
  copyMultipartThreshold?: number;
  /** Keys per ListObjectsV2 page (default and maximum 1000). */
  listPageSize?: number;
  /** Ask S3 to store SHA256 checksums on puts and copies, as quilt3 does (default true). */
  checksums?: boolean;
}

const MIB = 1024 * 1024;
/** quilt3's multipart threshold and part size; keeps S3's composite checksum equal to quilt's hash. */
const QUILT_PART_BYTES = 8 * MIB;
/** CopyObject refuses sources larger than 5 GiB. */
const COPY_OBJECT_MAX_BYTES = 5 * 1024 * MIB;

export class S3Store implements ObjectStore {
  readonly scheme = "s3" as const;
  private readonly s3: ResolvedS3Client;
  private readonly requests: S3Requests;
  private readonly opts: S3StoreOptions;
  private closed = false;
  /** Buckets whose server failed GetObjectAttributes: part digests are not asked there again. */
  private readonly noParts = new Set<string>();

  constructor(opts: S3StoreOptions = {}, client: ResolvedS3Client = buildS3Client(opts)) {
    this.opts = opts;
    this.s3 = client;
    const policy: RetryPolicy = {
      ...DEFAULT_RETRY_POLICY,
      ...opts.retry,
      ...(opts.maxAttempts ? { maxAttempts: opts.maxAttempts } : {}),
    };
    this.requests = new S3Requests(client, policy, {
      uploadConcurrency: opts.uploadConcurrency,
      checksums: this.checksums,
    });
  }

  async get(loc: ObjectLocation, opts: GetOptions = {}): Promise<Buffer> {
    checkRange(opts.range);
    if (opts.range && opts.range.end === opts.range.start) return Buffer.alloc(0);
    return this.requests.call("get", loc, opts, async () => {
      const direct = await this.s3.direct?.get(loc, opts);
      if (Buffer.isBuffer(direct)) return direct;
      const res = await this.s3.client
        .send(new GetObjectCommand(getParams(loc, opts)), { abortSignal: opts.signal })
        .catch(emptyOnInvalidRange);
      // The SDK read what the direct path could not: that bucket is the SDK's from now on.
      if (direct === "refused") this.s3.direct?.sdkSucceeded(loc.bucket);
      if (res === undefined) return Buffer.alloc(0);
      // Inside the retry: a connection dropped mid-body re-fetches the whole range.
      return readAll(bodyStream(res.Body), res.ContentLength);
    });
  }

  /** Retries until the response headers arrive; a failure while the caller reads the body is the caller's to retry. */
  async getStream(loc: ObjectLocation, opts: GetOptions = {}): Promise<Readable> {
    checkRange(opts.range);
    if (opts.range && opts.range.end === opts.range.start) return Readable.from([]);
    return this.requests.call("get", loc, opts, async () => {
      const res = await this.s3.client
        .send(new GetObjectCommand(getParams(loc, opts)), { abortSignal: opts.signal })
        .catch(emptyOnInvalidRange);
      return res === undefined ? Readable.from([]) : bodyStream(res.Body);
    });
  }

  async head(loc: ObjectLocation): Promise<ObjectHead> {
    const res = await this.requests.call("head", loc, {}, () =>
      this.s3.client.send(
        new HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key, ...pin(loc), ChecksumMode: "ENABLED" }),
      ),
    );
    return {
      size: res.ContentLength ?? 0,
      etag: res.ETag,
      versionId: res.VersionId,
      lastModified: res.LastModified,
      checksumSha256: fullObjectChecksum(res),
      compositeSha256: compositeChecksum(res),
      compositeParts: compositePartCount(res),
    };
  }

  /** Part sizes and SHA-256 checksums where S3 kept them (s3-object-parts.ts); undefined where it did not. */
  async objectParts(loc: ObjectLocation): Promise<ObjectPart[] | undefined> {
    return objectParts(this.s3.client, loc, this.noParts);
  }

  async put(
    loc: Omit<ObjectLocation, "versionId" | "etag">,
    body: PutBody,
    opts: PutOptions = {},
  ): Promise<S3PutResult> {
    throwIfAborted(opts.signal);
    const threshold = this.opts.multipartThreshold ?? QUILT_PART_BYTES;
    const size = isPathBody(body)
      ? (await stat(body.path).catch(sourceFileError(body.path))).size
      : bodyBytes(body).length;
    if (size >= threshold) return this.putMultipart(loc, body, size, opts);
    const data = isPathBody(body)
      ? await readFile(body.path).catch(sourceFileError(body.path))
      : bodyBytes(body);
    const res = await this.requests.call("put", loc, opts, () =>
      this.s3.client.send(
        new PutObjectCommand({
          Bucket: loc.bucket,
          Key: loc.key,
          Body: data,
          ContentLength: data.length,
          ...(opts.contentType ? { ContentType: opts.contentType } : {}),
          ...(this.checksums ? { ChecksumAlgorithm: "SHA256" } : {}),
        }),
        { abortSignal: opts.signal },
      ),
    );
    opts.onProgress?.(data.length);
    return { versionId: res.VersionId, etag: res.ETag, checksumSha256: res.ChecksumSHA256 };
  }

  list(bucket: string, prefix: string, opts: ListOptions = {}): AsyncGenerator<ListEntry> {
    return listS3(this.requests, bucket, prefix, opts, this.opts.listPageSize);
  }

  async delete(loc: ObjectLocation): Promise<void> {
    await this.requests.call("delete", loc, {}, () =>
      this.s3.client.send(
        new DeleteObjectCommand({
          Bucket: loc.bucket,
          Key: loc.key,
          ...(loc.versionId !== undefined ? { VersionId: loc.versionId } : {}),
        }),
      ),
    );
  }

  async copy(
    src: ObjectLocation,
    dst: Omit<ObjectLocation, "versionId" | "etag">,
    opts: PutOptions = {},
  ): Promise<S3PutResult> {
    throwIfAborted(opts.signal);
    // One HEAD: the size picks the copy method, and its ETag pins every part (and the copy
    // itself) to the bytes we saw, even when the caller gave no pin.
    const head = await this.head(src);
    const pinned = { ...src, etag: head.etag };
    if (head.size > (this.opts.copyMultipartThreshold ?? COPY_OBJECT_MAX_BYTES)) {
      const partSize = partSizeFor(head.size, this.opts.partSize ?? QUILT_PART_BYTES);
      return this.requests.multipart("copy", dst, opts, partSize, (ctx) =>
        copyMultipart(ctx, pinned, dst, head.size, partSize, opts),
      );
    }
    const res = await this.requests.call("copy", src, opts, () =>
      this.s3.client.send(
        new CopyObjectCommand({
          Bucket: dst.bucket,
          Key: dst.key,
          CopySource: copySource(src.bucket, src.key, src.versionId),
          ...(pinned.etag !== undefined ? { CopySourceIfMatch: pinned.etag } : {}),
          ...(opts.contentType ? { ContentType: opts.contentType, MetadataDirective: "REPLACE" } : {}),
          ...(this.checksums ? { ChecksumAlgorithm: "SHA256" } : {}),
        }),
        { abortSignal: opts.signal },
      ),
    );
    opts.onProgress?.(head.size);
    return {
      versionId: res.VersionId,
      etag: res.CopyObjectResult?.ETag,
      checksumSha256: res.CopyObjectResult?.ChecksumSHA256,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.s3.client.destroy();
    this.s3.direct?.close();
  }

  private get checksums(): boolean {
    return this.opts.checksums ?? true;
  }

  private async putMultipart(
    loc: { bucket: string; key: string },
    body: PutBody,
    size: number,
    opts: PutOptions,
  ): Promise<S3PutResult> {
    const partSize = partSizeFor(size, this.opts.partSize ?? QUILT_PART_BYTES);
    if (!isPathBody(body)) {
      const bytes = bodyBytes(body);
      return this.requests.multipart("put", loc, opts, partSize, (ctx) =>
        uploadMultipart(ctx, loc, size, partSize, async (start, end) => bytes.subarray(start, end), opts),
      );
    }
    // Parts are read from the file as they are sent: memory stays at a few parts, not the file.
    const fh = await open(body.path, "r").catch(sourceFileError(body.path));
    try {
      return await this.requests.multipart("put", loc, opts, partSize, (ctx) =>
        uploadMultipart(ctx, loc, size, partSize, filePartReader(fh, body.path), opts),
      );
    } finally {
      await fh.close();
    }
  }
}

/** Builds an S3Store from user-level options (endpoint, region, profile, path style, retries). */
export function createS3Store(opts: S3StoreOptions = {}): S3Store {
  return new S3Store(opts);
}

/** A put's source file that cannot be read is the caller's problem, not the store's. */
function sourceFileError(path: string): (err: unknown) => never {
  return (err) => {
    const code = errnoCode(err) === "ENOENT" ? "ENOTFOUND" : "ESTORAGE";
    throw new QuiltError(code, `cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  };
}
