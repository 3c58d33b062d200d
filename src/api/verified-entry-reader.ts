// Reads an entry's bytes for the library (getBytes, readme, get) through the local block
// cache that the daemon also uses: verified against the manifest hash before anything is
// returned (the cache's strict mode: whole, or chunk by chunk against known digests), and a
// second read makes no request. Reads are pinned to the object version.
import { cacheObjectForEntry } from "../cache/content-key.js";
import type { ManifestEntry } from "../manifest/manifest.js";
import type { Session } from "../session.js";
import { assertObjectSize } from "../storage/sized-source.js";
import { installedCopy } from "./installed-copies.js";
import { DEFAULT_CHUNK_BYTES, type EntryBytesReader } from "./package-entry.js";

export class VerifiedEntryReader implements EntryBytesReader {
  constructor(private readonly session: Session) {}

  cachedPath(entry: ManifestEntry): Promise<string | undefined> {
    return installedCopy(this.session.cacheDir, entry);
  }

  async bytes(entry: ManifestEntry, signal?: AbortSignal): Promise<Buffer> {
    const cache = await this.session.blockCache();
    const src = this.session.stores.objectSource(entry.physicalKey, entry.size);
    // A large object is worth one HEAD before the cache plans reads for it: a size the
    // manifest lies about (up to 2^53-1) fails here rather than in the planning.
    if (entry.size > DEFAULT_CHUNK_BYTES) await assertObjectSize(src);
    return cache.read(cacheObjectForEntry(entry), 0, entry.size, src, {
      strict: true,
      ...(signal !== undefined && { signal }),
    });
  }

  async *chunks(entry: ManifestEntry, chunkBytes: number): AsyncGenerator<Buffer> {
    if (entry.size <= chunkBytes) {
      yield await this.bytes(entry);
      return;
    }
    const cache = await this.session.blockCache();
    const obj = cacheObjectForEntry(entry);
    const src = this.session.stores.objectSource(entry.physicalKey, entry.size);
    await assertObjectSize(src);
    // Strict: a chunk goes out only once verified, and an object without chunk digests is
    // fetched and verified whole first (it needs that much cache room; the error says so).
    await cache.ensureVerified(obj, src);
    for (let pos = 0; pos < entry.size; pos += chunkBytes) {
      yield await cache.read(obj, pos, Math.min(chunkBytes, entry.size - pos), src, { strict: true });
    }
  }
}
