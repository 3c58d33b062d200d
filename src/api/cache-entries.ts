// Fills the local data cache with a package's entries ahead of time (`Package.cache`,
// `quilt cache prefetch`): several files at once, each verified before it is stored (every
// chunk against its digest, or the whole object), so a mount or a training job sharing the
// data directory (QUILT_CACHE_DATA_DIR) later reads them without a request. It is resumable
// by construction: an entry whose blocks are all in the data directory (put there by this
// run, an interrupted one, a daemon or another node) is counted as already cached and not
// fetched, and a partly cached one fetches only its missing chunks.
import type { BlockCache } from "../cache/block-cache.js";
import { cacheObjectForEntry } from "../cache/content-key.js";
import { QuiltError, type ErrorCode } from "../errors.js";
import type { ManifestEntry } from "../manifest/manifest.js";
import type { Stores } from "../storage/stores.js";
import { forEachLimited } from "../limiter.js";

export interface CacheProgress {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface CacheOptions {
  onProgress?: (p: CacheProgress) => void;
  /** Files fetched at once (default 8; each also fetches its chunks in parallel). */
  concurrency?: number;
  /** Record an entry that fails and go on with the others, instead of stopping at the first failure. */
  keepGoing?: boolean;
  signal?: AbortSignal;
}

export interface CacheEntryError {
  logicalKey: string;
  code: ErrorCode;
  message: string;
}

export interface CacheResult {
  /** Entries asked for. */
  entries: number;
  /** Their total size. */
  bytes: number;
  /** Bytes received from storage by this call. */
  bytesFetched: number;
  /** Entries, and their bytes, that were wholly in the cache already (nothing fetched for them). */
  entriesCached: number;
  bytesCached: number;
  /** With keepGoing: the entries that could not be cached. */
  errors: CacheEntryError[];
}

/** 8 files at once: small files are latency-bound, and a large one already runs 8 ranged GETs of its own. */
export const DEFAULT_PREFETCH_FILES = 8;

export async function cacheEntries(
  cache: BlockCache,
  stores: Stores,
  entries: readonly ManifestEntry[],
  opts: CacheOptions = {},
): Promise<CacheResult> {
  const fetchedBefore = cache.stats().bytesFetched;
  const total = entries.reduce((n, e) => n + e.size, 0);
  const progress: CacheProgress = {
    filesDone: 0,
    filesTotal: entries.length,
    bytesDone: 0,
    bytesTotal: total,
  };
  const result: CacheResult = {
    entries: entries.length,
    bytes: total,
    bytesFetched: 0,
    entriesCached: 0,
    bytesCached: 0,
    errors: [],
  };
  await forEachLimited(entries, opts.concurrency ?? DEFAULT_PREFETCH_FILES, async (e) => {
    try {
      if (e.size > 0) {
        const obj = cacheObjectForEntry(e);
        if (await cache.holdsWhole(obj)) {
          result.entriesCached++;
          result.bytesCached += e.size;
        }
        // Also for an entry held whole: it is checked (and adopted) without a fetch, and a
        // block that fails its check is fetched again here rather than at its first read.
        await cache.ensureVerified(
          obj,
          stores.objectSource(e.physicalKey, e.size),
          opts.signal ? { signal: opts.signal } : {},
        );
      } else {
        result.entriesCached++;
      }
    } catch (err) {
      if (!opts.keepGoing || opts.signal?.aborted) throw err;
      const code = err instanceof QuiltError ? err.code : "EINTERNAL";
      result.errors.push({
        logicalKey: e.logicalKey as string,
        code,
        message: err instanceof Error ? err.message : String(err),
      });
    }
    progress.filesDone++;
    progress.bytesDone += e.size;
    opts.onProgress?.({ ...progress });
  });
  result.bytesFetched = cache.stats().bytesFetched - fetchedBefore;
  return result;
}
