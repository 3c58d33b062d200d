// A builder's entries as a tree of logical keys: adding, deleting and moving them, with
// the one rule a tree imposes (a path cannot be both a file and a directory) checked
// before anything changes. PackageBuilder (package-builder.ts) calls these on its map.
import { QuiltError } from "../errors.js";
import { parseLogicalKey, parseLogicalPrefix } from "../manifest/logical-key.js";
import { quoted } from "../untrusted-text.js";
import type { BuilderEntry } from "./builder-sources.js";

export type EntryMap = Map<string, BuilderEntry>;

/**
 * Adds entries, replacing those with the same key. Refuses a key that is a directory of
 * an entry already there, or under one that is a file: one pass over the keys' parent
 * directories (a pair-wise check would cost a million squared for a million entries).
 */
export function putEntries(map: EntryMap, entries: BuilderEntry[]): void {
  if (map.size > 0) {
    const dirs = new Set<string>();
    for (const k of map.keys()) for (const d of parentKeys(k)) dirs.add(d);
    for (const e of entries) {
      const k = e.logicalKey;
      const fileAbove = parentKeys(k).find((p) => map.has(p));
      const clash =
        fileAbove ?? (dirs.has(k) ? [...map.keys()].find((x) => x.startsWith(k + "/")) : undefined);
      if (clash !== undefined) {
        throw new QuiltError(
          "EUSAGE",
          `Cannot add ${quoted(k)}: ${quoted(clash)} is in the way (a path cannot be both a file and a directory)`,
        );
      }
    }
  }
  for (const e of entries) map.set(e.logicalKey, e);
}

/** Removes an entry, or every entry under a directory prefix; ENOTFOUND when nothing is there. */
export function deleteEntries(map: EntryMap, keyOrPrefix: string): void {
  const dir = keyOrPrefix.endsWith("/") ? keyOrPrefix : keyOrPrefix + "/";
  let n = 0;
  for (const k of [...map.keys()]) {
    if (k === keyOrPrefix || k.startsWith(dir)) {
      map.delete(k);
      n++;
    }
  }
  if (n === 0) throw new QuiltError("ENOTFOUND", `Nothing at ${quoted(keyOrPrefix)} to delete`);
}

/** Moves every entry under `from` to `to`; fails on the first collision unless `overwrite`, changing nothing. */
export function moveEntries(map: EntryMap, from: string, to: string, overwrite: boolean): void {
  const src = parseLogicalPrefix(from);
  const dst = parseLogicalPrefix(to);
  const moves = [...map.values()]
    .filter((e) => e.logicalKey.startsWith(src))
    .map((e) => ({ e, key: dst + e.logicalKey.slice(src.length) }));
  if (moves.length === 0) throw new QuiltError("ENOTFOUND", `No entries under ${quoted(src)}`);
  const moving = new Set(moves.map((m) => m.e.logicalKey));
  const staying = [...map.keys()].filter((k) => !moving.has(k));
  for (const m of moves) {
    const clash = staying.find((k) => k.startsWith(m.key + "/") || m.key.startsWith(k + "/"));
    if (clash !== undefined) {
      throw new QuiltError(
        "EUSAGE",
        `Cannot move ${quoted(m.e.logicalKey)} to ${quoted(m.key)}: ${quoted(clash)} is in the way (a path cannot be both a file and a directory)`,
      );
    }
  }
  if (!overwrite) {
    for (const m of moves) {
      if (map.has(m.key) && !moving.has(m.key)) {
        throw new QuiltError(
          "EUSAGE",
          `Collision detected. moving ${quoted(m.e.logicalKey)} to ${quoted(m.key)}, but ${quoted(m.key)} already exists. Use overwrite: true if you would like to replace ${quoted(m.key)} with ${quoted(m.e.logicalKey)}.`,
        );
      }
    }
  }
  for (const m of moves) map.delete(m.e.logicalKey);
  for (const m of moves) map.set(m.key, { ...m.e, logicalKey: parseLogicalKey(m.key) });
}

/** "a", "a/b" for the key "a/b/c": the keys that would be files above it. */
function parentKeys(key: string): string[] {
  const out: string[] = [];
  for (let i = key.indexOf("/"); i >= 0; i = key.indexOf("/", i + 1)) out.push(key.slice(0, i));
  return out;
}
