// The daemon's manifest index as `quilt cache stats` and `quilt daemon status` show it (read
// from the index itself when the daemon is stopped: stopped-index-stats.ts), and its memory
// bound for the kernel's names as `quilt daemon status` does.
import type { IndexLeftovers, IndexStats, NamesStats } from "../daemon/ops.js";
import { formatBytes } from "./progress.js";

/**
 * The daemon's manifest index in one line, for `cache stats` and `daemon status`, and a line
 * for its leftovers when it has some.
 */
export function indexStatsLines(index: IndexStats, daemonRunning = true): string[] {
  const line = `Manifest index${daemonRunning ? "" : " (daemon stopped)"}: ${index.versions} version(s) in ${formatBytes(index.usedBytes)} of ${formatBytes(index.maxBytes)} ($QUILT_INDEX_SIZE; versions no mount uses are dropped beyond it), file ${formatBytes(index.fileBytes)}`;
  const leftovers = leftoversLine(index.leftovers, daemonRunning);
  return leftovers === undefined ? [line] : [line, leftovers];
}

/**
 * Records of versions without a header, none of them trusted: a drop cut short (a kill, a
 * daemon stopped mid-removal), a damaged version's records still going, or a build under way.
 */
function leftoversLine(leftovers: IndexLeftovers | undefined, daemonRunning: boolean): string | undefined {
  if (!leftovers || leftovers.versions === 0) return undefined;
  const what = `${leftovers.versions} version(s) without a header, ${leftovers.records} record(s), not trusted`;
  if (!daemonRunning) return `Manifest index leftovers: ${what}; the daemon's next start removes them`;
  return `Manifest index leftovers: ${what}; ${leftovers.removing} being removed now, any other is a build under way or waits for the daemon's next start`;
}

/** The daemon's memory bound for the kernel's names in one line, for `daemon status`. */
export function namesStatsLine(names: NamesStats): string {
  const anon = names.anonBytes === null ? "unknown" : formatBytes(names.anonBytes);
  return `Memory: ${anon} anonymous; above ${formatBytes(names.targetBytes)} ($QUILT_NAMES_MEMORY) the kernel is told to forget idle mounts' names, ${names.forgettings} time(s) so far`;
}
