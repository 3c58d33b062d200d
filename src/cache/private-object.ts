// Bytes of a large object that cannot be verified before they are served: no chunk digests
// are known (a legacy SHA256 hash, another part layout, a server without part checksums).
// By default they stream, but they are private to their source: cached under a key made of
// the source's identity (endpoint, physical key, version) and the content key, never under
// the content key alone, so no other registry, package or mount can ever be served them.
// When every block is present the object is hashed whole: a match records its chunk digests
// and promotes the blocks to the shared content key; a mismatch deletes them and condemns
// the source (every later read of it fails).
import { createHash, randomBytes } from "node:crypto";
import { EntryHasher, type HashType } from "../manifest/checksums.js";
import { blockCount } from "./block-layout.js";
import type { ChunkLayout } from "./chunk-digests.js";
import type { CacheObject } from "./content-key.js";
import type { HashCheck } from "./verify-object.js";
import { matchesHash } from "./verify-object.js";

/**
 * Private copies belong to one process: two daemons sharing a data directory must never
 * write each other's unverified blocks (one's bytes damaged in transit would replace the
 * other's after it judged them), and a crashed process's copies are never judged anyway.
 */
const PROCESS_SALT = randomBytes(16).toString("hex");

/** The private cache identity of `obj` as served by `sourceId` at `version`, in this process. */
export function privateObject(obj: CacheObject, sourceId: string, version: string | undefined): CacheObject {
  const key = createHash("sha256")
    .update(`quilt-source\0${PROCESS_SALT}\0${sourceId}\0${version ?? ""}\0${obj.key}`, "utf8")
    .digest("hex");
  return { key, size: obj.size, hash: obj.hash, headerKey: obj.key };
}

/**
 * Hashes an object's blocks fed in order against its manifest hash and, given a chunk
 * layout, collects the SHA-256 of each chunk on the way (the digests that later let a chunk
 * be verified alone). Fed as blocks arrive, it takes the whole-object hash off the read that
 * completes the object.
 */
export class ObjectHasher {
  /** Blocks fed so far: the next one expected. */
  next = 0;
  /** A block already hashed left the cache: it may come back with other bytes, so this hash no longer speaks for the copy. */
  invalid = false;
  /** Feeding is serialized: two feeders would both read `next` and hash a block twice. */
  private tail: Promise<unknown> = Promise.resolve();
  private readonly hasher: EntryHasher;
  private readonly digests: Buffer | undefined;
  private chunk = createHash("sha256");
  private readonly shared: boolean;

  constructor(
    private readonly obj: CacheObject,
    private readonly blockSize: number,
    private readonly layout: ChunkLayout | undefined,
  ) {
    this.hasher = new EntryHasher(obj.hash.type as HashType, obj.size);
    // sha2-256-chunked hashes each chunk already (same layout: chunkLayout uses its chunk
    // size), so its digests are taken from the entry hash rather than hashed a second time.
    this.shared =
      layout !== undefined &&
      obj.hash.type === "sha2-256-chunked" &&
      layout.chunkBytes === this.hasher.chunkBytes;
    this.digests = layout && !this.shared ? Buffer.alloc(layout.chunks * 32) : undefined;
  }

  get done(): boolean {
    return this.next === blockCount(this.obj.size, this.blockSize);
  }

  /** Runs `fn` after every earlier call of exclusive has finished. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  update(block: Buffer): void {
    const i = this.next++;
    this.hasher.update(block);
    if (!this.layout || !this.digests) return;
    this.chunk.update(block);
    if ((i + 1) % this.layout.blocksPerChunk === 0 || this.done) {
      this.chunk.digest().copy(this.digests, Math.floor(i / this.layout.blocksPerChunk) * 32);
      this.chunk = createHash("sha256");
    }
  }

  async finish(): Promise<{ check: "ok" | "mismatch"; digests?: Buffer }> {
    if (!matchesHash(this.obj, await this.hasher.digest())) return { check: "mismatch" };
    const digests = this.shared ? this.hasher.chunkDigests() : this.digests;
    return digests ? { check: "ok", digests } : { check: "ok" };
  }
}

/** Hashes blocks 0..n-1 of `read` (the next block is read while the current one is hashed). */
export async function hashWithDigests(
  obj: CacheObject,
  blockSize: number,
  read: (index: number) => Promise<Buffer | undefined>,
  layout: ChunkLayout | undefined,
): Promise<{ check: HashCheck; digests?: Buffer }> {
  const hasher = new ObjectHasher(obj, blockSize, layout);
  const n = blockCount(obj.size, blockSize);
  let next = n > 0 ? read(0) : undefined;
  for (let i = 0; i < n; i++) {
    const block = await (next as Promise<Buffer | undefined>);
    next = i + 1 < n ? read(i + 1) : undefined;
    if (!block) {
      await next?.catch(() => undefined);
      return { check: "incomplete" };
    }
    hasher.update(block);
  }
  return hasher.finish();
}
