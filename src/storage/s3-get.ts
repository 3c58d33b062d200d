// The read side of S3 requests: the pin (VersionId, else If-Match) and Range of a GET or
// HEAD, and turning responses into bytes: a body that ends short is a dropped connection
// (so it is retried), a range past the end is empty, and only whole-object checksums count.
import type { GetObjectCommand, HeadObjectCommandOutput } from "@aws-sdk/client-s3";
import { Readable } from "node:stream";
import type { GetOptions, ObjectLocation } from "./object-store.js";
import { errorNameOf, httpStatusOf } from "./retry.js";

export function pin(loc: ObjectLocation): { VersionId?: string; IfMatch?: string } {
  if (loc.versionId !== undefined) return { VersionId: loc.versionId };
  if (loc.etag !== undefined) return { IfMatch: loc.etag };
  return {};
}

export function getParams(
  loc: ObjectLocation,
  opts: GetOptions,
): ConstructorParameters<typeof GetObjectCommand>[0] {
  return {
    Bucket: loc.bucket,
    Key: loc.key,
    ...pin(loc),
    ...(opts.range ? { Range: `bytes=${opts.range.start}-${opts.range.end - 1}` } : {}),
  };
}

/** A range starting at or past the end of the object reads zero bytes, like a pread. */
export function emptyOnInvalidRange(err: unknown): undefined {
  if (httpStatusOf(err) === 416 || errorNameOf(err) === "InvalidRange") return undefined;
  throw err;
}

/** Only a checksum of the whole object: a composite (multipart) one hashes part hashes instead. */
export function fullObjectChecksum(res: HeadObjectCommandOutput): string | undefined {
  const sum = res.ChecksumSHA256;
  if (!sum || res.ChecksumType === "COMPOSITE") return undefined;
  if (res.ChecksumType === "FULL_OBJECT") return sum;
  // No type reported (older S3 APIs, moto): a multipart ETag "<md5>-<n>" means composite.
  return /-\d+$/.test(sum) || /-\d+"?$/.test(res.ETag ?? "") ? undefined : sum;
}

/** How many parts a composite checksum covers: its "-N" suffix, else the multipart ETag's. */
export function compositePartCount(res: HeadObjectCommandOutput): number | undefined {
  if (compositeChecksum(res) === undefined) return undefined;
  const m = /-(\d+)$/.exec(res.ChecksumSHA256 ?? "") ?? /-(\d+)"?$/.exec(res.ETag ?? "");
  return m ? Number(m[1]) : undefined;
}

/** The composite (multipart) SHA-256 checksum without its "-N" part count, when that is what S3 has. */
export function compositeChecksum(res: HeadObjectCommandOutput): string | undefined {
  const sum = res.ChecksumSHA256;
  if (!sum || fullObjectChecksum(res) !== undefined) return undefined;
  return sum.replace(/-\d+$/, "");
}

export function bodyStream(body: unknown): Readable {
  if (body instanceof Readable) return body;
  throw new Error("S3 response has no Node.js body stream");
}

/** Reads a whole response body; a body shorter than Content-Length counts as a dropped connection. */
export async function readAll(stream: Readable, length: number | undefined): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const buf = chunk as Buffer;
    chunks.push(buf);
    total += buf.length;
  }
  if (length !== undefined && total !== length) {
    throw Object.assign(new Error(`response body ended after ${total} of ${length} bytes`), {
      code: "ECONNRESET",
    });
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total);
}
