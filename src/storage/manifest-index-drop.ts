// Removing a dropped version's records from the manifest index (manifest-index.ts) in
// bounded batches. A million-entry version holds about 270 MB of records (~70,000 pages);
// removed in one write transaction, the daemon's thread (every FUSE request of every mount)
// was held for the whole removal, and at that size LMDB refused the transaction after
// 30-45 ms (MDB_TXN_FULL), leaving the version in place (scripts/bench-index-drop.ts). Here
// each transaction removes at most a few dozen records, and the event loop runs between them.
//
// Crash safety: the caller hides the version first (ManifestIndex.hide: its header, which
// alone makes it visible, goes in its own transaction), so from then on nothing trusts what
// is left; a process killed between batches leaves records without a header, which
// ManifestIndex.survey finds at the next daemon start to be removed, and which the next
// build of that version removes anyway before writing.
import { setImmediate as nextTurn } from "node:timers/promises";
import type { Database, RootDatabase } from "lmdb";
import { pauseForTest } from "../test-pause.js";
import { recordKey, TAG_HEADER } from "./manifest-index-keys.js";

/**
 * A drop's first step: the version's header (which alone makes a version visible) and its
 * usage record go in one transaction; the rest is `removeRecords`'s.
 */
export function hideVersion(
  db: RootDatabase<Buffer, Buffer>,
  usage: Database<number, Buffer>,
  vid: Buffer,
): void {
  db.transactionSync(() => {
    db.removeSync(recordKey(vid, TAG_HEADER, 0));
    usage.removeSync(vid);
  });
}

/** Removes up to `max` records of version `vid` in one write transaction; returns how many. */
export function removeRecords(db: RootDatabase<Buffer, Buffer>, vid: Buffer, max: number): number {
  const end = Buffer.concat([vid, Buffer.from([0xff])]);
  return db.transactionSync(() => {
    const keys = [...db.getKeys({ start: vid, end, ...(Number.isFinite(max) && { limit: max }) })];
    for (const key of keys) db.removeSync(key);
    return keys.length;
  });
}

/** What a removal needs of the index (ManifestIndex.removeSome): one bounded write transaction. */
export interface RecordRemover {
  /** Removes up to `max` records of version `vid` in one write transaction; returns how many. */
  removeSome(vid: Buffer, max: number): number;
}

/**
 * Records per write transaction. Most records are pages of 256 file nodes (~64 KB), so a
 * batch frees a few MB: the longest wait was 3-5 ms here, cold, and a million-entry version
 * is gone in about 90 batches, 40 ms in all (bench-index-drop's section in docs/BENCHMARKS.md).
 */
export const DROP_BATCH_RECORDS = 64;

export interface DropProgress {
  /** Every record was removed (false: `stop` asked to stop first; the rest is left for a later sweep). */
  complete: boolean;
  /** Write transactions it took. */
  transactions: number;
}

/**
 * Removes every record of hidden version `vid`, at most `batchRecords` per transaction,
 * yielding to the event loop between transactions. `stop` is asked between them.
 */
export async function removeInBatches(
  index: RecordRemover,
  vid: Buffer,
  opts: { batchRecords?: number; stop?: () => boolean } = {},
): Promise<DropProgress> {
  const batch = opts.batchRecords ?? DROP_BATCH_RECORDS;
  let transactions = 0;
  for (;;) {
    if (opts.stop?.()) return { complete: false, transactions };
    const removed = index.removeSome(vid, batch);
    transactions++;
    if (removed < batch) return { complete: true, transactions };
    // A crash test stops the daemon here for good, between two batches, and kills it.
    const paused = pauseForTest("index-drop");
    if (paused) await paused;
    await nextTurn();
  }
}
