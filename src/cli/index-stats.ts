// The daemon's manifest index as `quilt cache stats` and `quilt daemon status` show it, and
// its memory bound for the kernel's names as `quilt daemon status` does.
import type { IndexStats, NamesStats } from "../daemon/ops.js";
import { formatBytes } from "./progress.js";

/** The daemon's manifest index in one line, for `cache stats` and `daemon status`. */
export function indexStatsLine(index: IndexStats): string {
  return `Manifest index: ${index.versions} version(s) in ${formatBytes(index.usedBytes)} of ${formatBytes(index.maxBytes)} ($QUILT_INDEX_SIZE; versions no mount uses are dropped beyond it), file ${formatBytes(index.fileBytes)}`;
}

/** The daemon's memory bound for the kernel's names in one line, for `daemon status`. */
export function namesStatsLine(names: NamesStats): string {
  const anon = names.anonBytes === null ? "unknown" : formatBytes(names.anonBytes);
  return `Memory: ${anon} anonymous; above ${formatBytes(names.targetBytes)} ($QUILT_NAMES_MEMORY) the kernel is told to forget idle mounts' names, ${names.forgettings} time(s) so far`;
}
