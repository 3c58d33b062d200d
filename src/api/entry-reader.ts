// Reads an entry's bytes for the library (getBytes, readme, get) through the local block
// cache that the daemon also uses: verified against the manifest hash before anything is
// returned, and a second read makes no request. Reads are pinned to the object version.
import { cacheObjectForEntry } from "../cache/content-key.js";
import type { ManifestEntry } from "../manifest/manifest.js";
import type { QuiltContext } from "./context.js";
import type { EntryBytesReader } from "./package-entry.js";

export class CachedEntryReader implements EntryBytesReader {
  constructor(private readonly ctx: QuiltContext) {}

  async bytes(entry: ManifestEntry): Promise<Buffer> {
    const cache = await this.ctx.blockCache();
    return cache.read(cacheObjectForEntry(entry), 0, entry.size, this.ctx.stores.rangeFetcher(entry.physicalKey));
  }
}
