// The daemon's manifest index as `quilt cache stats` and `quilt daemon status` show it.
import type { IndexStats } from "../daemon/ops.js";
import { formatBytes } from "./progress.js";

/** The daemon's manifest index in one line, for `cache stats` and `daemon status`. */
export function indexStatsLine(index: IndexStats): string {
  return `Manifest index: ${index.versions} version(s) in ${formatBytes(index.usedBytes)} of ${formatBytes(index.maxBytes)} ($QUILT_INDEX_SIZE; versions no mount uses are dropped beyond it), file ${formatBytes(index.fileBytes)}`;
}
