// How an object's bytes are verified before they are served, decided per read:
// - whole: an object of at most one chunk (8 MiB) is fetched whole and hashed;
// - by chunk: a larger object whose chunk digests are known (recorded by this cache, left
//   beside the shared blocks by another daemon, or reported by S3's part checksums) is
//   fetched and hashed chunk by chunk;
// - private: otherwise its bytes stream under a key naming their source (private-object.ts)
//   until the whole object can be hashed.
// Learning about a source costs one HEAD (and one part list) per large object and process;
// what it says may also condemn the object before a byte is read (chunk-digests.ts).
import { LRUCache } from "lru-cache";
import type { ObjectSource, SourceFacts } from "../storage/object-source.js";
import { blockCount } from "./block-layout.js";
import type { BlockFetcher } from "./block-loader.js";
import type { CacheIndex } from "./cache-index.js";
import type { CacheCounters } from "./cache-stats.js";
import {
  chunkDigest,
  chunkLayout,
  contradiction,
  digestsFit,
  digestsFromParts,
  refused,
  sha256,
} from "./chunk-digests.js";
import type { ChunkVerifier } from "./chunk-loader.js";
import type { CacheObject } from "./content-key.js";
import { readDigestFile, writeDigestFile } from "./digest-files.js";
import { privateObject } from "./private-object.js";
import { bytesMatch, canVerify } from "./verify-object.js";

export type Plan =
  | { kind: "verified"; v: ChunkVerifier; fetch: BlockFetcher }
  | { kind: "private"; priv: CacheObject; fetch: BlockFetcher };

/** What sources told about their objects (one HEAD each), kept for this many sources. */
const SOURCE_FACTS = 10_000;

export class VerificationPlanner {
  private readonly facts = new LRUCache<string, Promise<SourceFacts>>({ max: SOURCE_FACTS });

  constructor(
    private readonly index: CacheIndex,
    private readonly counters: CacheCounters,
    private readonly blockSize: number,
    private readonly wholeObjectBytes: number,
    /** Where digests are shared with other daemons (beside the block layouts). */
    private readonly digestFiles: string,
  ) {}

  async plan(obj: CacheObject, src: ObjectSource): Promise<Plan> {
    const count = blockCount(obj.size, this.blockSize);
    const plain: BlockFetcher = (range, signal) => src.fetch(range, signal);
    if (canVerify(obj) && (obj.size <= this.wholeObjectBytes || count <= 1)) {
      return {
        kind: "verified",
        v: { blocksPerChunk: count, check: (_c, bytes) => bytesMatch(obj, bytes) },
        fetch: plain,
      };
    }
    const layout = chunkLayout(obj.size, this.blockSize);
    const byDigests = (d: Buffer, blocksPerChunk: number): Plan => ({
      kind: "verified",
      v: { blocksPerChunk, check: async (c, bytes) => sha256(bytes).equals(chunkDigest(d, c)) },
      fetch: plain,
    });
    const known = layout ? await this.findDigests(obj) : undefined;
    if (layout && known) return byDigests(known, layout.blocksPerChunk);
    const facts = src.inspect ? await this.inspect(obj, src) : undefined;
    const fromParts = layout && facts ? digestsFromParts(obj, facts.parts) : undefined;
    if (layout && fromParts) {
      await this.recordDigests(obj, fromParts);
      return byDigests(fromParts, layout.blocksPerChunk);
    }
    const pin = facts?.pinEtag;
    return {
      kind: "private",
      priv: privateObject(obj, src.id, facts?.version),
      fetch: pin === undefined ? plain : (range, signal) => src.fetch(range, signal, pin),
    };
  }

  /**
   * Whether cached blocks of `obj` could be verified without asking its source: a one-chunk
   * object (hashed whole), or one whose digests are known here or beside the shared blocks.
   */
  async checkableOffline(obj: CacheObject): Promise<boolean> {
    if (!canVerify(obj)) return false;
    if (obj.size <= this.wholeObjectBytes || blockCount(obj.size, this.blockSize) <= 1) return true;
    return chunkLayout(obj.size, this.blockSize) !== undefined && (await this.findDigests(obj)) !== undefined;
  }

  /** Recorded digests that fit the object (for sha2-256-chunked: recombine to its hash). */
  knownDigests(obj: CacheObject): Buffer | undefined {
    const d = this.index.digests.get(obj.key);
    return d && digestsFit(obj, d) ? d : undefined;
  }

  /** Known digests, else self-proving ones another daemon left in the shared data directory. */
  private async findDigests(obj: CacheObject): Promise<Buffer | undefined> {
    const known = this.knownDigests(obj);
    if (known || obj.hash.type !== "sha2-256-chunked") return known;
    const shared = await readDigestFile(this.digestFiles, obj.key);
    if (!shared || !digestsFit(obj, shared)) return undefined;
    this.index.digests.set(obj.key, shared);
    return shared;
  }

  /** Keeps digests in the local index, and beside the blocks where they prove themselves. */
  async recordDigests(obj: CacheObject, digests: Buffer): Promise<void> {
    this.index.digests.set(obj.key, digests);
    if (obj.hash.type === "sha2-256-chunked") await writeDigestFile(this.digestFiles, obj.key, digests);
  }

  /** One look at the source per process; an object its store contradicts is refused here. */
  private async inspect(obj: CacheObject, src: ObjectSource): Promise<SourceFacts> {
    let facts = this.facts.get(src.id);
    if (!facts) {
      facts = (src.inspect as NonNullable<ObjectSource["inspect"]>)({
        parts: obj.hash.type === "sha2-256-chunked",
      });
      this.facts.set(src.id, facts);
      facts.catch(() => this.facts.delete(src.id));
    }
    const seen = await facts;
    const why = contradiction(obj, seen);
    if (why !== undefined) {
      this.counters.hashMismatches++;
      throw refused(obj, why);
    }
    return seen;
  }

  /** Forgets what a source said (force-match: the remote may have been fixed since). */
  forgetSource(src: ObjectSource): void {
    this.facts.delete(src.id);
  }

  clear(): void {
    this.facts.clear();
  }
}
