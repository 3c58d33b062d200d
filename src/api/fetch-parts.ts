// Fetches one large sha2-256-chunked object into a file as a few long ranged GETs in
// parallel, hashing each hash chunk as it streams in and writing it in place. Why long parts
// rather than one request per 8 MiB chunk: every request has a fixed cost (first-byte
// latency, a request charge on S3, and servers such as moto read the whole object for each
// ranged GET), so a 1 GiB object goes as 16 streams of 64 MiB instead of 128 requests of
// 8 MiB. A stream that breaks off resumes at the start of the chunk it was in, so a long
// part loses at most one chunk's bytes to a dropped connection.
import { createHash, type Hash } from "node:crypto";
import type { FileHandle } from "node:fs/promises";
import type { Readable } from "node:stream";
import { QuiltError } from "../errors.js";
import { chunkSizeFor, combineChunkDigests, SHA256_DIGEST_BYTES } from "../manifest/checksums.js";
import { classifyFailure } from "../storage/retry.js";
import type { Limiter } from "../limiter.js";
import type { ByteRange } from "../storage/object-store.js";

/**
 * No part spans more than this, so that a download of a huge object still spreads over
 * many connections and a part's retry budget covers a bounded span. At least one chunk.
 */
export const MAX_PART_BYTES = 256 * 1024 * 1024;

/** Failed attempts in a row, without a chunk completing in between, before a part gives up. */
const PART_ATTEMPTS = 3;

/**
 * A stream's socket pieces (16-64 KiB) are gathered to this size before a write: one write
 * call per MiB instead of per piece, each a round trip through libuv's thread pool.
 */
const WRITE_BATCH_BYTES = 1024 * 1024;

/**
 * Splits [0, size) into at most `parallel` chunk-aligned parts of equal chunk counts (the
 * last may be shorter), none over MAX_PART_BYTES unless one chunk already is.
 */
export function planParts(size: number, chunk: number, parallel: number): ByteRange[] {
  const chunks = Math.ceil(size / chunk);
  const cap = Math.max(1, Math.floor(MAX_PART_BYTES / chunk));
  const perPart = Math.min(cap, Math.max(1, Math.ceil(chunks / Math.max(1, parallel))));
  const parts: ByteRange[] = [];
  for (let first = 0; first < chunks; first += perPart) {
    parts.push({ start: first * chunk, end: Math.min(size, (first + perPart) * chunk) });
  }
  return parts;
}

export interface PartsTarget {
  /** For messages: the entry's logical key. */
  what: string;
  size: number;
  fh: FileHandle;
  requests: Limiter;
  getRange: (range: ByteRange) => Promise<Readable>;
  onBytes?: (n: number) => void;
}

/** Fetches the whole object into `fh` and returns its sha2-256-chunked hash value. */
export async function fetchChunkedParts(target: PartsTarget): Promise<string> {
  const chunk = chunkSizeFor(target.size);
  const digests = Buffer.alloc(Math.ceil(target.size / chunk) * SHA256_DIGEST_BYTES);
  const parts = planParts(target.size, chunk, target.requests.max);
  await Promise.all(parts.map((part) => target.requests.run(() => fetchPart(target, part, chunk, digests))));
  return combineChunkDigests(digests);
}

/** One part, resumed at its first unfinished chunk after a transient failure. */
async function fetchPart(
  target: PartsTarget,
  part: ByteRange,
  chunk: number,
  digests: Buffer,
): Promise<void> {
  const cursor = { done: part.start };
  let failures = 0;
  while (cursor.done < part.end) {
    const before = cursor.done;
    try {
      await streamChunks(target, { start: cursor.done, end: part.end }, chunk, digests, cursor);
    } catch (err) {
      failures = cursor.done > before ? 1 : failures + 1;
      if (failures < PART_ATTEMPTS && classifyFailure(err) === "transient") continue;
      throw err;
    }
  }
}

/**
 * Streams `range` (chunk-aligned at its start) into the file. Each chunk's digest is stored
 * and `cursor.done` advanced only once the chunk's bytes are written.
 */
async function streamChunks(
  target: PartsTarget,
  range: ByteRange,
  chunk: number,
  digests: Buffer,
  cursor: { done: number },
): Promise<void> {
  const body = await target.getRange(range);
  let chunkStart = range.start;
  let chunkEnd = Math.min(chunkStart + chunk, range.end);
  let hash: Hash = createHash("sha256");
  let at = range.start;
  const batch = new WriteBatch(target.fh, at);
  for await (const piece of body) {
    let buf = piece as Buffer;
    if (at + buf.length > range.end) {
      throw new QuiltError(
        "EHASHMISMATCH",
        `${target.what}: got more than the ${range.end - range.start} bytes asked for at offset ${range.start}`,
      );
    }
    while (buf.length > 0) {
      const take = Math.min(buf.length, chunkEnd - at);
      const head = take === buf.length ? buf : buf.subarray(0, take);
      buf = take === buf.length ? EMPTY : buf.subarray(take);
      hash.update(head);
      batch.push(head);
      at += take;
      if (at === chunkEnd) {
        await batch.flush();
        hash.digest().copy(digests, (chunkStart / chunk) * SHA256_DIGEST_BYTES);
        target.onBytes?.(chunkEnd - chunkStart);
        cursor.done = chunkEnd;
        chunkStart = chunkEnd;
        chunkEnd = Math.min(chunkStart + chunk, range.end);
        hash = createHash("sha256");
      } else if (batch.bytes >= WRITE_BATCH_BYTES) {
        await batch.flush();
      }
    }
  }
  if (at !== range.end) {
    // Like a dropped connection (the body ended early): transient, so the part resumes.
    throw Object.assign(
      new Error(
        `${target.what}: response body ended after ${at - range.start} of ${range.end - range.start} bytes at offset ${range.start}`,
      ),
      { code: "ECONNRESET" },
    );
  }
}

const EMPTY = Buffer.alloc(0);

/** Pieces gathered in order and written with one writev, without copying them together. */
class WriteBatch {
  private pieces: Buffer[] = [];
  bytes = 0;

  constructor(
    private readonly fh: FileHandle,
    private position: number,
  ) {}

  push(buf: Buffer): void {
    this.pieces.push(buf);
    this.bytes += buf.length;
  }

  async flush(): Promise<void> {
    if (this.bytes === 0) return;
    const { bytesWritten } = await this.fh.writev(this.pieces, this.position);
    if (bytesWritten < this.bytes) {
      // A short write (rare on regular files): write the rest from one buffer.
      const rest = Buffer.concat(this.pieces, this.bytes).subarray(bytesWritten);
      for (let done = 0; done < rest.length;) {
        done += (await this.fh.write(rest, done, rest.length - done, this.position + bytesWritten + done))
          .bytesWritten;
      }
    }
    this.position += this.bytes;
    this.pieces = [];
    this.bytes = 0;
  }
}
