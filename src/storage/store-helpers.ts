// Small pieces every ObjectStore needs to behave like S3 (key order is code-point order,
// src/code-point-order.ts): delimiter folding into common prefixes, range checks, and
// put bodies as bytes. Shared so the memory and local stores cannot drift from each other.
import { readFile } from "node:fs/promises";
import { QuiltError } from "../errors.js";
import type { ByteRange, ListEntry, PutBody } from "./object-store.js";

/** S3 refuses more parts than this per multipart upload. */
export const S3_MAX_PARTS = 10_000;

/** `base`, doubled until `size` fits in S3_MAX_PARTS parts (quilt3's get_checksum_chunksize). */
export function partSizeFor(size: number, base: number): number {
  let part = base;
  while (Math.ceil(size / part) > S3_MAX_PARTS) part *= 2;
  return part;
}

export function partRanges(
  size: number,
  partSize: number,
): { partNumber: number; start: number; end: number }[] {
  const parts = [];
  for (let start = 0, n = 1; start < size; start += partSize, n++) {
    parts.push({ partNumber: n, start, end: Math.min(size, start + partSize) });
  }
  return parts;
}

/** Throws EUSAGE for a range that is not [start, end) of non-negative integers. */
export function checkRange(range: ByteRange | undefined): void {
  if (range === undefined) return;
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new QuiltError("EUSAGE", `invalid byte range [${start}, ${end})`);
  }
}

/**
 * The slice [start, end) of an object of `size` bytes, clamped like a pread: a range past the
 * end of the object reads fewer (or zero) bytes rather than failing.
 */
export function clampRange(range: ByteRange | undefined, size: number): ByteRange {
  if (range === undefined) return { start: 0, end: size };
  const start = Math.min(range.start, size);
  return { start, end: Math.max(start, Math.min(range.end, size)) };
}

/**
 * Folds keys listed in order under `prefix`: a key with `delimiter` after the prefix becomes
 * the common prefix up to and including that delimiter, yielded once. Common prefixes stay in
 * key order because keys sharing a prefix are contiguous in a sorted listing.
 */
export async function* foldDelimited(
  entries: AsyncIterable<ListEntry> | Iterable<ListEntry>,
  prefix: string,
  delimiter: string | undefined,
): AsyncGenerator<ListEntry> {
  let lastPrefix: string | undefined;
  for await (const entry of entries) {
    if (entry.kind === "object" && delimiter) {
      const cut = entry.key.indexOf(delimiter, prefix.length);
      if (cut >= 0) {
        const common = entry.key.slice(0, cut + delimiter.length);
        if (common !== lastPrefix) {
          lastPrefix = common;
          yield { kind: "prefix", prefix: common };
        }
        continue;
      }
    }
    yield entry;
  }
}

/** The bytes of an in-memory put body (strings are UTF-8). */
export function bodyBytes(body: Exclude<PutBody, { path: string }>): Buffer {
  if (typeof body === "string") return Buffer.from(body, "utf8");
  if (Buffer.isBuffer(body)) return body;
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

export function isPathBody(body: PutBody): body is { path: string } {
  return typeof body === "object" && !(body instanceof Uint8Array) && typeof body.path === "string";
}

/** All bytes of a put body; only for bodies known to be small (below a multipart threshold). */
export async function readBody(body: PutBody): Promise<Buffer> {
  return isPathBody(body) ? readFile(body.path) : bodyBytes(body);
}

/** ETags compare without their quotes: S3 sends `"abc"`, callers may store `abc`. */
export function sameEtag(a: string, b: string): boolean {
  return stripQuotes(a) === stripQuotes(b);
}

export function stripQuotes(etag: string): string {
  return etag.length >= 2 && etag.startsWith('"') && etag.endsWith('"') ? etag.slice(1, -1) : etag;
}

/** Throws the AbortSignal's reason when it has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw signal.reason instanceof Error ? signal.reason : new QuiltError("EABORTED", "operation aborted");
  }
}

/** Formats a location for messages: `bucket/key` plus the pin. */
export function describeLocation(loc: {
  bucket: string;
  key: string;
  versionId?: string;
  etag?: string;
}): string {
  const pin = loc.versionId ? `?versionId=${loc.versionId}` : loc.etag ? ` (etag ${loc.etag})` : "";
  return `${loc.bucket.replace(/\/$/, "")}/${loc.key}${pin}`;
}
