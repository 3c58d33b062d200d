// Reads an entry's bytes for the library (getBytes, readme, get) through the local block
// cache that the daemon also uses: verified against the manifest hash before anything is
// returned (the cache's strict mode: whole, or chunk by chunk against known digests), and a
// second read makes no request. Reads are pinned to the object version.
import { cacheObjectForEntry } from "../cache/content-key.js";
import type { ManifestEntry } from "../manifest/manifest.js";
import type { QuiltContext } from "./context.js";
import type { EntryBytesReader } from "./package-entry.js";

export class CachedEntryReader implements EntryBytesReader {
  constructor(private readonly ctx: QuiltContext) {}

  async bytes(entry: ManifestEntry): Promise<Buffer> {
    const cache = await this.ctx.blockCache();
    return cache.read(cacheObjectForEntry(entry), 0, entry.size, this.ctx.stores.objectSource(entry.physicalKey), { strict: true });
  }

  async *chunks(entry: ManifestEntry, chunkBytes: number): AsyncGenerator<Buffer> {
    if (entry.size <= chunkBytes) {
      yield await this.bytes(entry);
      return;
    }
    const cache = await this.ctx.blockCache();
    const obj = cacheObjectForEntry(entry);
    const src = this.ctx.stores.objectSource(entry.physicalKey);
    // Strict: a chunk goes out only once verified, and an object without chunk digests is
    // fetched and verified whole first (it needs that much cache room; the error says so).
    await cache.ensureVerified(obj, src);
    for (let pos = 0; pos < entry.size; pos += chunkBytes) {
      yield await cache.read(obj, pos, Math.min(chunkBytes, entry.size - pos), src, { strict: true });
    }
  }
}
