// The lines a builder's pushData prints, quilt3's "Pushing ./train2017/ to s3://..." and
// "Copying ..." lines, folded per directory.
import { displaySource, foldContents } from "./package-display.js";
import type { PushedEntry } from "./push-data.js";

/**
 * "Pushing ./train2017/ to s3://bucket/prefix/train2017/..." lines: entries grouped by what
 * happened (uploaded or copied, done or skipped), each group folded per directory, and each
 * line's destination taken from the entries that line covers.
 */
export function pushReport(pushed: PushedEntry[]): string[] {
  const groups = new Map<string, PushedEntry[]>();
  for (const p of pushed) {
    const verb = p.from.isLocal() ? "Pushing" : "Copying";
    const skipped = p.outcome === "skipped" || p.outcome === "in-place";
    const k = `${verb}|${skipped ? " (data exists, skipping)" : ""}`;
    groups.set(k, [...(groups.get(k) ?? []), p]);
  }
  const lines: [string, string][] = [];
  for (const [k, list] of groups) {
    const [verb, suffix] = k.split("|") as [string, string];
    const byKey = new Map(list.map((p) => [p.entry.logicalKey, p]));
    for (const [key, src] of foldContents(
      list.map((p) => ({ key: p.entry.logicalKey, source: displaySource(p.from) })),
    )) {
      const isDir = key.endsWith("/") || key.endsWith("/...");
      const dir = key.replace(/\.\.\.$/, "");
      const first = isDir
        ? list.find(
            (p) =>
              p.entry.logicalKey.startsWith(dir) &&
              displaySource(p.from) === src.replace(/\/\.\.\.$/, "/") + p.entry.logicalKey.slice(dir.length),
          )
        : byKey.get(key);
      if (!first) continue;
      const dest = displaySource(first.entry.source);
      const to = isDir
        ? dest.slice(0, dest.length - (first.entry.logicalKey.length - dir.length)) + "..."
        : dest;
      lines.push([key, `${verb} ${src.replace(/\/\.\.\.$/, "/")} to ${to}${suffix}`]);
    }
  }
  return lines.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, l]) => l);
}
