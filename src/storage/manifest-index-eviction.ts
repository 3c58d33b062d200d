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
// versions with a header are listed). Removal is one LMDB write transaction per version.
//
// LMDB does not shrink its file: freed pages go to its free list and are reused by the next
// versions indexed, so the file stays at its largest size and stops growing once the limit
// holds. Deleting the directory (with no daemon running) gives the space back.
import type { ManifestIndex } from "./manifest-index.js";

export interface IndexEviction {
  /** Versions dropped, least recently used first (hex ids). */
  dropped: string[];
  /** Bytes of the pages holding records after it. */
  usedBytes: number;
  /** Versions left, kept ones included. */
  versions: number;
}

/**
 * Drops versions not in `keep` (hex ids), least recently used first, until the index's
 * records fit `maxBytes` (0: every version not kept).
 */
export function evictVersions(
  index: ManifestIndex,
  maxBytes: number,
  keep: ReadonlySet<string>,
): IndexEviction {
  // Clearing everything also finds versions indexed before usage was recorded (a scan of every key).
  const all = index.versions({ scan: maxBytes === 0 });
  const candidates = all
    .filter((v) => !keep.has(v.vid.toString("hex")))
    .sort((a, b) => a.usedAt - b.usedAt || a.vid.compare(b.vid));
  const dropped: string[] = [];
  let usedBytes = index.usedBytes();
  for (const v of candidates) {
    if (usedBytes <= maxBytes) break;
    index.drop(v.vid);
    dropped.push(v.vid.toString("hex"));
    usedBytes = index.usedBytes();
  }
  return { dropped, usedBytes, versions: all.length - dropped.length };
}
