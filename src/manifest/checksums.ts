// Entry hashes, computed exactly as quilt3 8.x computes them (quilt3/checksums.py), so a
// package written here names its objects by the same hashes quilt3 would, and a package
// written by quilt3 can be verified here. Everything streams: no file is ever held in memory.
//
// - `sha2-256-chunked` (default): sha256 of each chunk (8 MiB, doubled while the file would
//   need more than 10,000 chunks, the S3 part limit), raw digests concatenated, sha256 of that,
//   base64. No chunks for the empty file, so it hashes to base64(sha256("")).
// - `SHA256` (legacy): lowercase hex sha256 of the whole file.
// - `CRC64NVME`: base64 of the big-endian 8-byte CRC-64/NVME. quilt3 computes one CRC per
//   chunk and merges them with crc64nvme_combine, which by construction equals the CRC of the
//   whole byte stream (checked against quilt3 in test/unit/checksums.test.ts), and the empty
//   file gives 0 both ways, so one running CRC over the file is exact.
import { createHash, type Hash } from "node:crypto";
import { open } from "node:fs/promises";
import { createRequire } from "node:module";
import type { Crc64Nvme } from "@aws-sdk/crc64-nvme";
import { QuiltError } from "../errors.js";

export const HASH_TYPES = ["sha2-256-chunked", "SHA256", "CRC64NVME"] as const;
export type HashType = (typeof HASH_TYPES)[number];
export const DEFAULT_HASH_TYPE: HashType = "sha2-256-chunked";

/**
 * The CRC64NVME implementation, loaded (a CommonJS package) by the first hasher of that type:
 * few entries use it, and importing it cost every process that hashes, the daemon included,
 * ~30 ms of CPU at start.
 */
let crc64: typeof Crc64Nvme | undefined;
function newCrc64(): Crc64Nvme {
  crc64 ??= (createRequire(import.meta.url)("@aws-sdk/crc64-nvme") as { Crc64Nvme: typeof Crc64Nvme })
    .Crc64Nvme;
  return new crc64();
}

/** The manifest's `hash` object. `type` is a plain string: manifests may name types we do not know. */
export interface EntryHash {
  type: string;
  value: string;
}

/** A file's hash together with the size that was hashed (one stat, so the two agree). */
export interface HashedFile {
  hash: EntryHash;
  size: number;
}

/** quilt3's CHECKSUM_MULTIPART_THRESHOLD and starting chunk size: 8 MiB, the boto3 part size. */
export const BASE_CHUNK_BYTES = 8 * 1024 * 1024;
/** S3 allows at most 10,000 parts; the chunk size doubles until the file fits in that many. */
export const MAX_CHUNKS = 10_000;
/** Bytes of one raw sha256 digest. */
export const SHA256_DIGEST_BYTES = 32;
/**
 * Read size for hashFile, in bytes. 4 MiB reads amortize the thread-pool round trip to well
 * under 1% of the hashing time while two buffers (one being read, one being hashed) stay small.
 */
export const READ_BUFFER_BYTES = 4 * 1024 * 1024;

export function isHashType(type: string): type is HashType {
  return (HASH_TYPES as readonly string[]).includes(type);
}

/** Narrows a manifest's hash type to one we can compute, or explains that we cannot. */
export function assertHashType(type: string): HashType {
  if (isHashType(type)) return type;
  throw new QuiltError("EUSAGE", `unsupported hash type ${JSON.stringify(type)}`, {
    hint: `supported hash types: ${HASH_TYPES.join(", ")}`,
  });
}

/** Chunk size in bytes for a file of `size` bytes (quilt3's get_checksum_chunksize). */
export function chunkSizeFor(size: number): number {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new QuiltError("EUSAGE", `invalid file size ${size}`);
  }
  let chunk = BASE_CHUNK_BYTES;
  while (Math.ceil(size / chunk) > MAX_CHUNKS) chunk *= 2;
  return chunk;
}

/** The `sha2-256-chunked` value from the concatenated raw chunk digests, in chunk order. */
export function combineChunkDigests(digests: Uint8Array): string {
  return createHash("sha256").update(digests).digest("base64");
}

/**
 * Incremental hasher for one entry of a known size. Feed it the bytes in order, split anywhere;
 * it cuts chunks itself. It refuses more or fewer bytes than `size`, because the chunk size (and
 * so the hash) depends on the size and a short or long stream would name the wrong content.
 */
export class EntryHasher {
  readonly type: HashType;
  readonly size: number;
  private received = 0;
  private done = false;
  /** The `sha2-256-chunked` chunk size for `size` (unused by the other types). */
  readonly chunkBytes: number;
  // sha2-256-chunked: digests of finished chunks, and the chunk in progress.
  private digests: Buffer | undefined;
  private chunkCount = 0;
  private chunkFill = 0;
  private chunk: Hash | undefined;
  // SHA256 and CRC64NVME: one running state over the whole file.
  private whole: Hash | undefined;
  private crc: Crc64Nvme | undefined;

  constructor(type: HashType, size: number) {
    this.type = assertHashType(type);
    this.chunkBytes = chunkSizeFor(size);
    this.size = size;
    if (this.type === "sha2-256-chunked") {
      this.digests = Buffer.allocUnsafe(Math.ceil(size / this.chunkBytes) * SHA256_DIGEST_BYTES);
    } else if (this.type === "SHA256") {
      this.whole = createHash("sha256");
    } else {
      this.crc = newCrc64();
    }
  }

  update(data: Uint8Array): void {
    if (this.done) throw new QuiltError("EINTERNAL", "EntryHasher.update called after digest");
    if (this.received + data.length > this.size) {
      throw new QuiltError("EHASHMISMATCH", `got more than the expected ${this.size} bytes`);
    }
    this.received += data.length;
    if (this.whole) {
      this.whole.update(data);
    } else if (this.crc) {
      this.crc.update(data);
    } else {
      this.updateChunked(data);
    }
  }

  private updateChunked(data: Uint8Array): void {
    let offset = 0;
    while (offset < data.length) {
      const take = Math.min(this.chunkBytes - this.chunkFill, data.length - offset);
      this.chunk ??= createHash("sha256");
      // Whole-buffer updates when possible: subarray costs an object, never a copy.
      this.chunk.update(take === data.length ? data : data.subarray(offset, offset + take));
      this.chunkFill += take;
      offset += take;
      if (this.chunkFill === this.chunkBytes) this.finishChunk();
    }
  }

  private finishChunk(): void {
    // `digests` was sized from `size`, and update() refuses bytes beyond it.
    const digests = this.digests as Buffer;
    (this.chunk as Hash).digest().copy(digests, this.chunkCount * SHA256_DIGEST_BYTES);
    this.chunkCount++;
    this.chunk = undefined;
    this.chunkFill = 0;
  }

  /** The entry hash. Async only because the CRC library's digest is. */
  async digest(): Promise<EntryHash> {
    if (this.done) throw new QuiltError("EINTERNAL", "EntryHasher.digest called twice");
    if (this.received !== this.size) {
      throw new QuiltError("EHASHMISMATCH", `got ${this.received} bytes, expected ${this.size}`);
    }
    this.done = true;
    if (this.whole) return { type: this.type, value: this.whole.digest("hex") };
    if (this.crc) return { type: this.type, value: Buffer.from(await this.crc.digest()).toString("base64") };
    if (this.chunkFill > 0) this.finishChunk();
    return { type: this.type, value: combineChunkDigests(this.digests as Buffer) };
  }

  /**
   * sha2-256-chunked after digest(): the raw SHA-256 of each chunk, in order (what the cache
   * records to verify chunks alone later), so a caller needing them does not hash twice.
   */
  chunkDigests(): Buffer | undefined {
    return this.done && this.digests ? this.digests : undefined;
  }
}

export async function hashBytes(bytes: Uint8Array, type: HashType = DEFAULT_HASH_TYPE): Promise<EntryHash> {
  const hasher = new EntryHasher(type, bytes.length);
  hasher.update(bytes);
  return hasher.digest();
}

/** Hashes a stream that must deliver exactly `size` bytes (a download, a request body). */
export async function hashStream(
  stream: AsyncIterable<Uint8Array>,
  size: number,
  type: HashType = DEFAULT_HASH_TYPE,
): Promise<EntryHash> {
  const hasher = new EntryHasher(type, size);
  for await (const chunk of stream) hasher.update(chunk);
  return hasher.digest();
}

export async function hashFile(path: string, type: HashType = DEFAULT_HASH_TYPE): Promise<EntryHash> {
  return (await hashFileSized(path, type)).hash;
}

/**
 * Hashes a file from disk with two reused buffers: the next read runs on the libuv thread
 * pool while this thread hashes the previous one, so disk and CPU overlap. The size comes
 * from one fstat; a file that shrinks while being read is an error, like in quilt3, which
 * also hashes exactly the size it saw.
 */
export async function hashFileSized(path: string, type: HashType = DEFAULT_HASH_TYPE): Promise<HashedFile> {
  const fh = await open(path, "r");
  let pending: Promise<unknown> | undefined;
  try {
    const { size } = await fh.stat();
    const hasher = new EntryHasher(type, size);
    const bufferBytes = Math.max(1, Math.min(READ_BUFFER_BYTES, size));
    const buffers = [Buffer.allocUnsafe(bufferBytes), Buffer.allocUnsafe(bufferBytes)] as const;
    const readAt = (which: number, position: number) => {
      const read = fh.read(buffers[which % 2] as Buffer, 0, Math.min(bufferBytes, size - position), position);
      pending = read;
      return read;
    };
    let position = 0;
    let which = 0;
    let next = size > 0 ? readAt(which, 0) : undefined;
    while (next) {
      const { bytesRead, buffer } = await next;
      pending = undefined;
      if (bytesRead === 0) throw fileChanged(path, size);
      position += bytesRead;
      which++;
      next = position < size ? readAt(which, position) : undefined;
      hasher.update(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
    }
    return { hash: await hasher.digest(), size };
  } finally {
    // Never close the handle under a read still in flight (hasher.update may have thrown).
    if (pending) await pending.catch(() => undefined);
    await fh.close();
  }
}

export function fileChanged(path: string, size: number): QuiltError {
  return new QuiltError("ESTALE", `${path} changed while it was being hashed (expected ${size} bytes)`, {
    hint: "retry once nothing is writing to the file",
  });
}

/**
 * Checks that `actual` names the same content as `expected`. Hex is compared case-blind
 * (legacy SHA256 values are hex; base64 is case-sensitive and compared exactly).
 */
export function verifyHash(expected: EntryHash, actual: EntryHash, what = "data"): void {
  if (expected.type !== actual.type) {
    throw new QuiltError("EINTERNAL", `cannot compare a ${expected.type} hash with a ${actual.type} hash`);
  }
  const same =
    expected.type === "SHA256"
      ? expected.value.toLowerCase() === actual.value.toLowerCase()
      : expected.value === actual.value;
  if (!same) {
    throw new QuiltError(
      "EHASHMISMATCH",
      `${what} does not match its ${expected.type} hash: expected ${expected.value}, got ${actual.value}`,
    );
  }
}

/** Hashes a file with the expected hash's type and checks it. */
export async function verifyFile(path: string, expected: EntryHash): Promise<void> {
  verifyHash(expected, await hashFile(path, assertHashType(expected.type)), path);
}
