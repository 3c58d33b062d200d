// The numbers the daemon's `stats` reply, `quilt mounts` and the benchmarks report: what
// was served from the cache, what had to be fetched and what the cache holds now.

export interface CacheCounters {
  /** Blocks served from the cache (memory or disk). */
  hits: number;
  /** Blocks that had to be fetched. */
  misses: number;
  /** Blocks a read got by waiting on a fetch already in flight (a prefetch, another reader). */
  joinedFetches: number;
  /** Bytes returned by read() that came from cached blocks. */
  bytesFromCache: number;
  /** Bytes received from fetchers. */
  bytesFetched: number;
  /** Calls made to fetchers (ranged GETs). */
  fetchRequests: number;
  /** Blocks deleted to stay under the size limit. */
  evictions: number;
  evictedBytes: number;
  /** Block files that failed their header or checksum check (deleted, never served). */
  corruptBlocks: number;
  /** Objects whose bytes did not match their manifest hash (evicted, never served). */
  hashMismatches: number;
  /** Fetched blocks served but not kept, because pinned blocks left no room under the limit. */
  uncachedBlocks: number;
  /** Block writes that failed (disk full, permissions); the data was still served. */
  writeErrors: number;
  /** Blocks the index listed whose files were gone (deleted under the cache), forgotten to be fetched again. */
  lostBlocks: number;
  /** Chunks another process sharing the data directory fetched while this one waited on its claim (fetch-claims.ts). */
  claimWaits: number;
  /** Claims of processes gone (killed, or silent past the stale bound) taken over. */
  claimTakeovers: number;
  /** Waits on another process's claim that reached the bound; this process then fetched by itself. */
  claimTimeouts: number;
}

export interface CacheStats extends CacheCounters {
  /** Bytes the indexed block files take on disk, headers included. */
  bytes: number;
  blocks: number;
  objects: number;
  maxBytes: number;
  blockSize: number;
}

export function newCounters(): CacheCounters {
  return {
    hits: 0,
    misses: 0,
    joinedFetches: 0,
    bytesFromCache: 0,
    bytesFetched: 0,
    fetchRequests: 0,
    evictions: 0,
    evictedBytes: 0,
    corruptBlocks: 0,
    hashMismatches: 0,
    uncachedBlocks: 0,
    writeErrors: 0,
    lostBlocks: 0,
    claimWaits: 0,
    claimTakeovers: 0,
    claimTimeouts: 0,
  };
}
