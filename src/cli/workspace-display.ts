// How a workspace's data reads on the terminal: "logical -> source" lines folded per
// directory ("train2017/ -> ./train2017/"), local paths relative to where the user
// stands (as git does), S3 sources without their version id.
import { isAbsolute, relative, sep } from "node:path";
import { foldContents, MAX_CONTENT_LINES } from "../api/package-display.js";
import type { PhysicalKey } from "../manifest/physical-key.js";

/** More leading "../" than this and an absolute path reads better. */
const MAX_UP_LEVELS = 2;

/** A local path as the user would type it from `cwd`: "./a/b", "../a", or absolute. */
export function userPath(path: string, cwd = process.cwd()): string {
  const rel = relative(cwd, path).split(sep).join("/");
  if (rel === "") return ".";
  if (isAbsolute(rel)) return path;
  const ups = rel.split("/").filter((p) => p === "..").length;
  if (ups > MAX_UP_LEVELS) return path;
  return rel.startsWith("../") || rel === ".." ? rel : "./" + rel;
}

export function sourceLabel(pk: PhysicalKey, cwd = process.cwd()): string {
  return pk.isLocal() ? userPath(pk.path, cwd) : `s3://${pk.bucket}/${pk.path}`;
}

/** Folded [logical, source] pairs; a folded directory shows as "dir/" -> "source/". */
export function dataLines(
  entries: { logicalKey: string; source: PhysicalKey }[],
  cwd = process.cwd(),
): [string, string][] {
  const folded = foldContents(
    entries.map((e) => ({ key: e.logicalKey, source: sourceLabel(e.source, cwd) })),
  );
  return folded.map(([k, s]) => [k.replace(/\/\.\.\.$/, "/"), s.replace(/\/\.\.\.$/, "/")]);
}

/** "  train2017/    ->  ./train2017/" lines, at most MAX_CONTENT_LINES of them. */
export function formatDataLines(lines: [string, string][]): string[] {
  const shown = lines.slice(0, MAX_CONTENT_LINES);
  const width = Math.max(0, ...shown.map(([k]) => k.length));
  const out = shown.map(([k, s]) => `  ${k.padEnd(width)}  ->  ${s}`);
  if (lines.length > shown.length)
    out.push(`  ... ${lines.length - shown.length} more (--json lists every entry)`);
  return out;
}
