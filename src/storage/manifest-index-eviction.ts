// Holding the manifest index (manifest-index.ts) to a size: each version indexed costs about
// 270 bytes an entry (270 MB for a million entries) and would otherwise stay forever. Versions
// that no mount uses are dropped, least recently used first (last opened or let go of by a
// mount), until the pages holding records fit the limit; a dropped version is simply indexed
// again from its verified manifest at its next mount.
//
// What is never dropped is the caller's to say (`keep`): the daemon keeps every version a
// mount serves, each mount's previous version (`quilt switch --previous` goes back to it
// without a rebuild), and evicts only while no mount or switch is under way, so a version
// being opened or built is never removed under it (a build writes its header last, and only
// versions with a header are listed). A version is hidden first (its header goes, in its own
// transaction), then its records are removed in bounded batches (manifest-index-drop.ts),
// between which the caller's event loop runs and a mount may start: `mayGoOn` is asked
// before each version is hidden, so one that a new mount may be opening is never touched.
//
// LMDB does not shrink its file: freed pages go to its free list and are reused by the next
// versions indexed, so the file stays at its largest size and stops growing once the limit
// holds. Deleting the directory (with no daemon running) gives the space back.
import type { ManifestIndex } from "./manifest-index.js";
import { removeInBatches } from "./manifest-index-drop.js";

export interface IndexEviction {
  /** Versions dropped, least recently used first (hex ids). */
  dropped: string[];
  /** Bytes of the pages holding records after it. */
  usedBytes: number;
  /** Versions left, kept ones included. */
  versions: number;
}

export interface EvictOptions {
  /** Asked before each version is hidden: false stops the eviction there (a mount started). */
  mayGoOn?: () => boolean;
  /** Removes a hidden version's records (default: removeInBatches, at once). */
  removeRecords?: (vid: Buffer) => Promise<unknown>;
}

/**
 * Drops versions not in `keep` (hex ids), least recently used first, until the index's
 * records fit `maxBytes` (0: every version not kept).
 */
export async function evictVersions(
  index: ManifestIndex,
  maxBytes: number,
  keep: ReadonlySet<string>,
  opts: EvictOptions = {},
): Promise<IndexEviction> {
  const all = index.versions();
  const candidates = all
    .filter((v) => !keep.has(v.vid.toString("hex")))
    .sort((a, b) => a.usedAt - b.usedAt || a.vid.compare(b.vid));
  const remove = opts.removeRecords ?? ((vid: Buffer) => removeInBatches(index, vid));
  const dropped: string[] = [];
  let usedBytes = index.usedBytes();
  for (const v of candidates) {
    if (usedBytes <= maxBytes || (opts.mayGoOn && !opts.mayGoOn())) break;
    // Hidden in the same turn as `mayGoOn` said yes: from here no mount trusts it.
    index.hide(v.vid);
    dropped.push(v.vid.toString("hex"));
    await remove(v.vid);
    usedBytes = index.usedBytes();
  }
  return { dropped, usedBytes, versions: all.length - dropped.length };
}
