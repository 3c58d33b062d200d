// Multipart uploads and copies for S3. Parts follow quilt3's layout (8 MiB, doubled until
// the object needs at most 10,000 parts) so that S3's composite ChecksumSHA256 of an object
// we upload equals quilt3's `sha2-256-chunked` hash of it. Parts are sent a few at a time
// and the upload is aborted on failure so no orphaned parts keep costing storage.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { FileHandle } from "node:fs/promises";
import type { PutOptions, PutResult } from "./object-store.js";
import { partRanges, throwIfAborted } from "./store-helpers.js";
import { forEachLimited } from "../limiter.js";

export { S3_MAX_PARTS, partRanges, partSizeFor } from "./store-helpers.js";

/** A put or copy result plus S3's checksum as sent back (`<b64>` or `<b64>-<parts>` for composite ones). */
export interface S3PutResult extends PutResult {
  checksumSha256?: string;
}

/** `bucket/key?versionId=v` with the key URL-encoded segment by segment, as CopySource wants. */
export function copySource(bucket: string, key: string, versionId?: string): string {
  const encodedKey = key.split("/").map(encodeURIComponent).join("/");
  return `${bucket}/${encodedKey}${versionId !== undefined ? `?versionId=${encodeURIComponent(versionId)}` : ""}`;
}

/** Reads part [start, end) of an open file when an upload sends it: memory holds a few parts, not the file. */
export function filePartReader(
  fh: FileHandle,
  path: string,
): (start: number, end: number) => Promise<Buffer> {
  return async (start, end) => {
    const buf = Buffer.allocUnsafe(end - start);
    let done = 0;
    while (done < buf.length) {
      const { bytesRead } = await fh.read(buf, done, buf.length - done, start + done);
      if (bytesRead === 0) throw new Error(`${path} shrank while uploading`);
      done += bytesRead;
    }
    return buf;
  };
}

export interface MultipartContext {
  client: S3Client;
  /** Runs one request with the store's retry policy (errors are mapped by the caller). */
  retry: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Parts in flight at once. */
  concurrency: number;
  /** Ask S3 for SHA256 checksums. */
  checksums: boolean;
}

interface Target {
  bucket: string;
  key: string;
}

/** Uploads `size` bytes whose part [start, end) `readPart` produces; aborts the upload on failure. */
export async function uploadMultipart(
  ctx: MultipartContext,
  dst: Target,
  size: number,
  partSize: number,
  readPart: (start: number, end: number) => Promise<Buffer>,
  opts: PutOptions,
): Promise<S3PutResult> {
  return runMultipart(ctx, dst, size, partSize, opts, async (uploadId, part) => {
    const body = await readPart(part.start, part.end);
    const res = await ctx.retry(() =>
      ctx.client.send(
        new UploadPartCommand({
          Bucket: dst.bucket,
          Key: dst.key,
          UploadId: uploadId,
          PartNumber: part.partNumber,
          Body: body,
          ContentLength: body.length,
          ...(ctx.checksums ? { ChecksumAlgorithm: "SHA256" } : {}),
        }),
        { abortSignal: opts.signal },
      ),
    );
    return { PartNumber: part.partNumber, ETag: res.ETag, ChecksumSHA256: res.ChecksumSHA256 };
  });
}

/** Server-side copy in parts (UploadPartCopy), every part pinned to the source's etag. */
export async function copyMultipart(
  ctx: MultipartContext,
  src: Target & { versionId?: string; etag?: string },
  dst: Target,
  size: number,
  partSize: number,
  opts: PutOptions,
): Promise<S3PutResult> {
  const source = copySource(src.bucket, src.key, src.versionId);
  return runMultipart(ctx, dst, size, partSize, opts, async (uploadId, part) => {
    const res = await ctx.retry(() =>
      ctx.client.send(
        new UploadPartCopyCommand({
          Bucket: dst.bucket,
          Key: dst.key,
          UploadId: uploadId,
          PartNumber: part.partNumber,
          CopySource: source,
          CopySourceRange: `bytes=${part.start}-${part.end - 1}`,
          ...(src.etag !== undefined ? { CopySourceIfMatch: src.etag } : {}),
        }),
        { abortSignal: opts.signal },
      ),
    );
    const r = res.CopyPartResult;
    return { PartNumber: part.partNumber, ETag: r?.ETag, ChecksumSHA256: r?.ChecksumSHA256 };
  });
}

async function runMultipart(
  ctx: MultipartContext,
  dst: Target,
  size: number,
  partSize: number,
  opts: PutOptions,
  sendPart: (
    uploadId: string,
    part: { partNumber: number; start: number; end: number },
  ) => Promise<CompletedPart>,
): Promise<S3PutResult> {
  throwIfAborted(opts.signal);
  const created = await ctx.retry(() =>
    ctx.client.send(
      new CreateMultipartUploadCommand({
        Bucket: dst.bucket,
        Key: dst.key,
        ...(opts.contentType ? { ContentType: opts.contentType } : {}),
        ...(ctx.checksums ? { ChecksumAlgorithm: "SHA256" } : {}),
      }),
      { abortSignal: opts.signal },
    ),
  );
  const uploadId = created.UploadId;
  if (!uploadId) throw new Error("CreateMultipartUpload returned no UploadId");
  try {
    const ranges = partRanges(size, partSize);
    const completed: CompletedPart[] = new Array(ranges.length);
    let bytesDone = 0;
    await forEachLimited(ranges, ctx.concurrency, async (part, i) => {
      throwIfAborted(opts.signal);
      const done = await sendPart(uploadId, part);
      // A part checksum S3 did not send back must not be echoed as "undefined".
      completed[i] = done.ChecksumSHA256 ? done : { PartNumber: done.PartNumber, ETag: done.ETag };
      bytesDone += part.end - part.start;
      opts.onProgress?.(bytesDone);
    });
    const res = await ctx.retry(() =>
      ctx.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: dst.bucket,
          Key: dst.key,
          UploadId: uploadId,
          MultipartUpload: { Parts: completed },
        }),
        { abortSignal: opts.signal },
      ),
    );
    return { versionId: res.VersionId, etag: res.ETag, checksumSha256: res.ChecksumSHA256 };
  } catch (err) {
    // Best effort: if the abort fails too, the bucket's lifecycle rule (if any) cleans up.
    await ctx
      .retry(() =>
        ctx.client.send(
          new AbortMultipartUploadCommand({ Bucket: dst.bucket, Key: dst.key, UploadId: uploadId }),
        ),
      )
      .catch(() => undefined);
    throw err;
  }
}
