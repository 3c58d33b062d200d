// Reads an entry's bytes for the library (getBytes, readme, get) through the local block
// cache that the daemon also uses: verified against the manifest hash before anything is
// returned, and a second read makes no request. Reads are pinned to the object version.
import { cacheObjectForEntry } from "../cache/content-key.js";
import { QuiltError } from "../errors.js";
import type { ManifestEntry } from "../manifest/manifest.js";
import type { QuiltContext } from "./context.js";
import type { EntryBytesReader } from "./package-entry.js";

export class CachedEntryReader implements EntryBytesReader {
  constructor(private readonly ctx: QuiltContext) {}

  async bytes(entry: ManifestEntry): Promise<Buffer> {
    const cache = await this.ctx.blockCache();
    return cache.read(cacheObjectForEntry(entry), 0, entry.size, this.ctx.stores.rangeFetcher(entry.physicalKey));
  }

  async *chunks(entry: ManifestEntry, chunkBytes: number): AsyncGenerator<Buffer> {
    if (entry.size <= chunkBytes) {
      yield await this.bytes(entry);
      return;
    }
    const cache = await this.ctx.blockCache();
    const obj = cacheObjectForEntry(entry);
    const fetch = this.ctx.stores.rangeFetcher(entry.physicalKey);
    // Whole and verified in the cache first: no piece goes out before the entry checks.
    await cache.ensureBlocks(obj, 0, Math.ceil(entry.size / cache.blockSize) - 1, fetch);
    const verdict = await cache.verifyObject(obj);
    if (verdict !== "ok") {
      throw new QuiltError("EHASHMISMATCH", `${entry.logicalKey} could not be cached and verified (${verdict})`, {
        hint: `it needs ${entry.size} bytes of cache; raise QUILT_CACHE_SIZE, or install the package instead`,
      });
    }
    for (let pos = 0; pos < entry.size; pos += chunkBytes) {
      yield await cache.read(obj, pos, Math.min(chunkBytes, entry.size - pos), fetch);
    }
  }
}
