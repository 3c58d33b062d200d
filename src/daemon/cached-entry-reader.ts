// What a mount reads file bytes through: one ObjectReader per open file handle over the
// shared block cache (so sequential readers get a growing prefetch window and random
// readers fetch only what they need), fetching with ranged GETs pinned to the version.
import type { BlockCache } from "../cache/block-cache.js";
import { cacheObjectForEntry } from "../cache/content-key.js";
import { ObjectReader } from "../cache/object-reader.js";
import type { EntryReader, ReadHandle } from "../fs/entry-reader.js";
import type { ManifestEntry } from "../manifest/manifest.js";
import type { Stores } from "../storage/stores.js";

export class CachedEntryReader implements EntryReader {
  /** Bytes returned to readers of this mount. */
  bytesRead = 0;

  constructor(
    private readonly cache: BlockCache,
    private readonly stores: Stores,
  ) {}

  open(entry: ManifestEntry): ReadHandle {
    return new ObjectReader(this.cache, cacheObjectForEntry(entry), this.stores.rangeFetcher(entry.physicalKey));
  }

  async read(_entry: ManifestEntry, offset: number, length: number, handle: ReadHandle): Promise<Buffer> {
    const bytes = await (handle as ObjectReader).read(offset, length);
    this.bytesRead += bytes.length;
    return bytes;
  }

  async release(handle: ReadHandle): Promise<void> {
    await (handle as ObjectReader).close();
  }
}
