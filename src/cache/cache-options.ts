// How a BlockCache is set up, and the defaults with the reason for each value. Kept apart from
// the cache itself so the daemon's and the library's configuration code can import it alone.

export interface BlockCacheOptions {
  /** Block files; may be on a shared filesystem (EFS/NFS) used by several daemons. */
  dataDir: string;
  /** LMDB index; must be on a local disk, one per daemon. */
  indexDir: string;
  /** Size limit in bytes of the block files this index counts (headers included). */
  maxBytes: number;
  /** Block size in bytes (default 1 MiB, see block-layout.ts). Part of the on-disk layout's name. */
  blockSize?: number;
  /** Bytes of recently checked blocks kept in memory (default 64 MiB; 0 disables). */
  memoryBytes?: number;
  /** Objects up to this size are fetched whole and verified before serving (default 8 MiB). */
  wholeObjectBytes?: number;
  /** Largest single ranged fetch (default 8 MiB); longer runs are split. */
  maxFetchBytes?: number;
  /** Ranged fetches in flight per read or ensureBlocks call (default 8). */
  fetchConcurrency?: number;
  /**
   * Claims on chunk fetches in the data directory, so processes sharing it fetch each chunk
   * once (fetch-claims.ts): the default times, others (tests), or false for none.
   */
  claims?: Partial<ClaimTimes> | false;
  /** Rebuild the index from the data files when needed: in the background (default), before open returns, or never. */
  reconcile?: "background" | "wait" | "never";
}

import type { ClaimTimes } from "./fetch-claims.js";

const MiB = 1024 * 1024;

export const DEFAULTS = {
  /**
   * 64 MiB of checked blocks in memory: a FUSE reader asks for 128 KiB at a time, so each
   * 1 MiB block is asked for 8 times; holding it saves 7 disk reads and checksums. 64 blocks
   * cover several sequential readers plus their prefetch without weighing on the daemon's RSS.
   */
  memoryBytes: 64 * MiB,
  /**
   * 8 MiB: one `sha2-256-chunked` chunk and quilt3's multipart threshold. Most files of an ML
   * dataset (images, annotations) are below it; one GET each and a verify before serving
   * costs at most 8 MiB of memory per object in flight.
   */
  wholeObjectBytes: 8 * MiB,
  /** 8 MiB per ranged GET: S3 per-connection throughput levels off around 8-16 MiB requests. */
  maxFetchBytes: 8 * MiB,
  /** 8 parallel GETs per call: enough to fill a 10 Gb/s link at ~100 MB/s per connection. */
  fetchConcurrency: 8,
  reconcile: "background",
} as const satisfies Omit<
  Required<BlockCacheOptions>,
  "dataDir" | "indexDir" | "maxBytes" | "blockSize" | "claims"
>;
