// What the manifest index (manifest-index.ts) takes: the pages holding records now, which
// eviction holds to QUILT_INDEX_SIZE, and its file on disk, which never shrinks. Apart from
// the records and their reading: this is LMDB's accounting, not the index's layout.
import { statSync } from "node:fs";
import { join } from "node:path";
import type { RootDatabase } from "lmdb";

/**
 * Bytes of the pages holding records now (LMDB's count of the main tree's pages). Pages
 * freed by a drop go to LMDB's free list and are reused by later builds; the file on disk
 * (`indexFileBytes`) never shrinks.
 */
export function usedPageBytes(db: RootDatabase<Buffer, Buffer>): number {
  const s = db.getStats() as {
    pageSize: number;
    treeBranchPageCount: number;
    treeLeafPageCount: number;
    overflowPages: number;
  };
  return s.pageSize * (s.treeBranchPageCount + s.treeLeafPageCount + s.overflowPages);
}

/** The size of the index's file in `dir` on disk: its largest size ever, since LMDB does not give space back. */
export function indexFileBytes(dir: string): number {
  try {
    return statSync(join(dir, "data.mdb")).size;
  } catch {
    return 0;
  }
}
