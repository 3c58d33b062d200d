// What changed between two versions of a package, by logical key: content (hash or size)
// or only metadata.
import { jsonEqual } from "../manifest/json-value.js";
import type { Manifest } from "../manifest/manifest.js";

/** From one version to another; quilt3's `modified` is `modified` plus `metadataChanged`. */
export interface PackageDiff {
  /** In the second version only. */
  added: string[];
  /** In the first version only (quilt3's `deleted`). */
  removed: string[];
  /** In both, with other content (hash or size). */
  modified: string[];
  /** In both, same content, other metadata. */
  metadataChanged: string[];
}

export function diffManifests(from: Manifest, to: Manifest): PackageDiff {
  const d: PackageDiff = { added: [], removed: [], modified: [], metadataChanged: [] };
  for (const e of to.entries) {
    const old = from.get(e.logicalKey);
    if (!old) d.added.push(e.logicalKey);
    else if (old.size !== e.size || !jsonEqual(old.hash, e.hash)) d.modified.push(e.logicalKey);
    else if (!jsonEqual(old.meta, e.meta)) d.metadataChanged.push(e.logicalKey);
  }
  for (const e of from.entries) if (!to.has(e.logicalKey)) d.removed.push(e.logicalKey);
  return d;
}
