// Shared pieces for the block cache tests: a remote backed by an in-memory buffer that counts
// requests and bytes and can fail, stall or lie; objects named by their real hash; temp dirs;
// and a walk that sums what the cache really keeps on disk.
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cacheObject, type CacheObject } from "../../src/cache/content-key.js";
import type { BlockFetcher } from "../../src/cache/block-cache.js";
import { IDENTITY_FILE } from "../../src/cache/data-identity.js";
import { QuiltError } from "../../src/errors.js";
import { hashBytes, type HashType } from "../../src/manifest/checksums.js";

export const KiB = 1024;
export const MiB = 1024 * 1024;

export class FakeRemote {
  readonly requests: { start: number; end: number }[] = [];
  bytesServed = 0;
  /** Fail the next n requests with ESTORAGE. */
  failNext = 0;
  /** Flip a byte in every response (a remote that returns wrong bytes). */
  corrupt = false;
  /** Return one byte less than asked. */
  short = false;
  /** Wait this long before answering, so concurrent readers overlap. */
  delayMs = 0;

  constructor(readonly data: Buffer) {}

  readonly fetch: BlockFetcher = async (range, signal) => {
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (signal?.aborted) throw new QuiltError("EABORTED", "aborted");
    this.requests.push({ ...range });
    if (this.failNext > 0) {
      this.failNext--;
      throw new QuiltError("ESTORAGE", "injected failure");
    }
    const out = Buffer.from(this.data.subarray(range.start, this.short ? range.end - 1 : range.end));
    if (this.corrupt && out.length > 0) flipByte(out, out.length >> 1, 0xff);
    this.bytesServed += out.length;
    return out;
  };

  reset(): void {
    this.requests.length = 0;
    this.bytesServed = 0;
  }
}

export async function objectFor(data: Buffer, type: HashType = "sha2-256-chunked"): Promise<CacheObject> {
  return cacheObject(await hashBytes(data, type), data.length);
}

/** Random bytes and the object they make, with a remote serving them. */
export async function remoteObject(
  size: number,
  type: HashType = "sha2-256-chunked",
): Promise<{ data: Buffer; obj: CacheObject; remote: FakeRemote }> {
  const data = randomBytes(size);
  return { data, obj: await objectFor(data, type), remote: new FakeRemote(data) };
}

export async function tempDir(prefix: string): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `quilt-${prefix}-`));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/**
 * Every regular file under `dir` with its size (block files, temp files, anything) except
 * the chunk digest files and the data directory's identity file, which are not blocks and
 * not counted against the cache limit.
 */
export async function filesUnder(dir: string): Promise<{ path: string; size: number }[]> {
  const out: { path: string; size: number }[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory() && e.name !== "digests") out.push(...(await filesUnder(path)));
    else if (e.isFile() && e.name !== IDENTITY_FILE) out.push({ path, size: (await stat(path)).size });
  }
  return out;
}

export async function bytesOnDisk(dir: string): Promise<number> {
  return (await filesUnder(dir)).reduce((sum, f) => sum + f.size, 0);
}

/** XORs one byte in place (a bit flip on disk or on the wire). */
export function flipByte(buf: Buffer, at: number, mask: number): void {
  buf.writeUInt8(buf.readUInt8(at) ^ mask, at);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
