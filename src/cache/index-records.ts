// What the cache index (cache-index.ts) keeps in LMDB: one record per cached object, and the
// running totals the size limit is held against without walking the data directory.

export interface ObjectRecord {
  size: number;
  /** Blocks present. */
  present: number;
  /** Bytes the present block files take on disk (headers included). */
  bytes: number;
  /** Last access, ms since the epoch; also its key in the LRU table. */
  atime: number;
  /** The whole object was hashed against its manifest hash since its last block change. */
  verified: boolean;
  /**
   * Some block was adopted from disk (a reconcile scan, or a file another daemon sharing the
   * data directory wrote) rather than written by this index's owner after verification: its
   * chunks are hashed again before they are served. Cleared when the whole object verifies.
   */
  adopted?: boolean;
  /**
   * A private copy (unverified bytes under a source key, private-object.ts). Its key is
   * salted per process, so once that process is gone nothing ever reads it again.
   */
  private?: boolean;
  /**
   * This index's owner fetched and wrote blocks of it (false: it only adopted files others
   * wrote). What clear() deletes; absent in records written before the flag existed.
   */
  owned?: boolean;
}

export interface IndexTotals {
  bytes: number;
  blocks: number;
  objects: number;
}
