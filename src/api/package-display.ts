// How a Package or PackageBuilder prints: name, top hash, manifest location, and contents
// folded so that a directory whose files all sit under one source prefix shows as one line
// ("train2017/" -> "s3://bucket/prefix/train2017/..."), as in the use cases. A directory
// where a few files come from elsewhere folds as "dir/..." with those files listed after.
import { relative, sep } from "node:path";
import type { PhysicalKey } from "../manifest/physical-key.js";

export interface DisplayItem {
  key: string;
  /** A display form of where the bytes are: "s3://bucket/path" or "./relative/path". */
  source: string;
}

/** Most lines of contents printed; the rest are counted. */
export const MAX_CONTENT_LINES = 40;
/** A directory folds with exceptions when at most this share of its files come from elsewhere. */
const EXCEPTION_SHARE = 0.1;

/** Where the bytes are, for people: no versionId, decoded, local paths relative to cwd. */
export function displaySource(pk: PhysicalKey, cwd = process.cwd()): string {
  if (pk.bucket !== null) return `s3://${pk.bucket}/${pk.path}`;
  const rel = relative(cwd, pk.path);
  return rel.startsWith("..") || rel === "" ? pk.path : "./" + rel.split(sep).join("/");
}

/** "base" when `source` is base + "/" + rel. */
function baseOf(source: string, rel: string): string | undefined {
  return source.endsWith("/" + rel) ? source.slice(0, source.length - rel.length - 1) : undefined;
}

export function foldContents(items: DisplayItem[]): [string, string][] {
  const lines: [string, string][] = [];
  fold(items, "", lines);
  return lines;
}

function fold(items: DisplayItem[], prefix: string, out: [string, string][]): void {
  const dirs = new Map<string, DisplayItem[]>();
  const order: ({ file: DisplayItem } | { dir: string })[] = [];
  for (const item of items) {
    const rest = item.key.slice(prefix.length);
    const slash = rest.indexOf("/");
    if (slash < 0) {
      order.push({ file: item });
      continue;
    }
    const dir = rest.slice(0, slash);
    if (!dirs.has(dir)) {
      dirs.set(dir, []);
      order.push({ dir });
    }
    dirs.get(dir)?.push(item);
  }
  for (const o of order) {
    if ("file" in o) {
      out.push([o.file.key, o.file.source]);
      continue;
    }
    const dirPrefix = prefix + o.dir + "/";
    const members = dirs.get(o.dir) ?? [];
    const counts = new Map<string, number>();
    for (const m of members) {
      const base = baseOf(m.source, m.key.slice(dirPrefix.length));
      if (base !== undefined) counts.set(base, (counts.get(base) ?? 0) + 1);
    }
    const [best, n] = [...counts].sort((a, b) => b[1] - a[1])[0] ?? ["", 0];
    if (n === members.length && n > 1) {
      out.push([dirPrefix, `${best}/...`]);
    } else if (n > 1 && members.length - n <= Math.max(1, Math.floor(members.length * EXCEPTION_SHARE))) {
      out.push([dirPrefix + "...", `${best}/...`]);
      for (const m of members)
        if (baseOf(m.source, m.key.slice(dirPrefix.length)) !== best) out.push([m.key, m.source]);
    } else {
      fold(members, dirPrefix, out);
    }
  }
}

export function formatContents(lines: [string, string][], indent = "    "): string {
  const shown = lines.slice(0, MAX_CONTENT_LINES);
  const width = Math.max(0, ...shown.map(([k]) => JSON.stringify(k).length));
  const body = shown.map(([k, s]) => `${indent}${JSON.stringify(k).padEnd(width)} -> ${JSON.stringify(s)}`);
  if (lines.length > shown.length) body.push(`${indent}... ${lines.length - shown.length} more`);
  return body.join("\n");
}

export function formatObject(kind: string, fields: [string, string][], lines: [string, string][]): string {
  const head = fields.map(([k, v]) => `  ${k}: ${JSON.stringify(v)},`).join("\n");
  return `${kind}(\n${head}\n  contents: [\n${formatContents(lines)}\n  ]\n)`;
}

/** How a PackageBuilder prints: no top hash or manifest yet shows as "pre-manifest". */
export function formatBuilder(b: {
  /** With the tag it was pushed with, or will be. */
  name: string;
  entries: Iterable<{ logicalKey: string; source: PhysicalKey }>;
  topHash: string | undefined;
  /** The pushed manifest's URL, or "local" once built. */
  manifest: string | undefined;
}): string {
  const items = [...b.entries]
    .map((e) => ({ key: e.logicalKey, source: displaySource(e.source) }))
    .sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  return formatObject(
    "PackageBuilder",
    [
      ["name", b.name],
      ["tophash", b.topHash ?? "pre-manifest"],
      ["manifest", b.manifest ?? "pre-manifest"],
    ],
    foldContents(items),
  );
}

/** How a Package prints: its label, top hash, manifest location and folded contents. */
export function formatPackage(
  label: string,
  topHash: string,
  manifestLocation: string,
  entries: Iterable<{ logicalKey: string; physicalKey: PhysicalKey }>,
): string {
  const items = [...entries].map((e) => ({
    key: e.logicalKey,
    source: displaySource(e.physicalKey),
  }));
  return formatObject(
    "Package",
    [
      ["name", label],
      ["tophash", topHash],
      ["manifest", manifestLocation],
    ],
    foldContents(items),
  );
}
