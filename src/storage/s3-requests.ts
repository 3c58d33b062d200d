// One S3 request as the store makes it: retried under one policy (retry.ts), its final
// failure mapped to a QuiltError naming the operation, the object and the endpoint
// (s3-errors.ts). Reads, writes, listings and multipart transfers all go through here, so
// none retries or maps errors its own way.
import type { S3Client } from "@aws-sdk/client-s3";
import type { PutOptions } from "./object-store.js";
import { withRetry, type RetryPolicy } from "./retry.js";
import type { ResolvedS3Client } from "./s3-client.js";
import { mapS3Error } from "./s3-errors.js";
import type { MultipartContext, S3PutResult } from "./s3-multipart.js";

const MIB = 1024 * 1024;
/** 8 parts in flight saturate a 10 Gb/s link at S3's ~100 MB/s per connection. */
const DEFAULT_UPLOAD_CONCURRENCY = 8;
/** Part buffers of one upload stay under 256 MiB, however large the doubled parts get. */
const MULTIPART_MEMORY_BYTES = 256 * MIB;

/** How multipart transfers run: parts in flight (at most), and whether S3 is asked for SHA256 checksums. */
export interface UploadSettings {
  uploadConcurrency: number | undefined;
  checksums: boolean;
}

export class S3Requests {
  constructor(
    private readonly s3: ResolvedS3Client,
    private readonly policy: RetryPolicy,
    private readonly upload: UploadSettings,
  ) {}

  get client(): S3Client {
    return this.s3.client;
  }

  /** One request with retries; the final failure becomes a QuiltError. */
  async call<T>(
    op: string,
    loc: { bucket: string; key: string },
    opts: { signal?: AbortSignal; onRetry?: (err: unknown) => void },
    fn: () => Promise<T>,
  ): Promise<T> {
    try {
      return await withRetry(fn, this.policy, {
        ...(opts.signal !== undefined && { signal: opts.signal }),
        ...(opts.onRetry !== undefined && { onRetry: opts.onRetry }),
      });
    } catch (err) {
      throw mapS3Error(err, { op, loc, endpoint: await this.s3.endpoint() });
    }
  }

  /** A multipart upload or copy: each part's request retried, the whole one's failure mapped as call's. */
  async multipart(
    op: string,
    loc: { bucket: string; key: string },
    opts: PutOptions,
    partSize: number,
    run: (ctx: MultipartContext) => Promise<S3PutResult>,
  ): Promise<S3PutResult> {
    const ctx: MultipartContext = {
      client: this.s3.client,
      retry: (fn) => withRetry(fn, this.policy, { signal: opts.signal }),
      concurrency: Math.max(
        1,
        Math.min(
          this.upload.uploadConcurrency ?? DEFAULT_UPLOAD_CONCURRENCY,
          Math.floor(MULTIPART_MEMORY_BYTES / partSize),
        ),
      ),
      checksums: this.upload.checksums,
    };
    try {
      return await run(ctx);
    } catch (err) {
      throw mapS3Error(err, { op, loc, endpoint: await this.s3.endpoint() });
    }
  }
}
