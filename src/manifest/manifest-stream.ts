// Reads a manifest's entries in batches without keeping them: for work over every entry of
// a version with millions (an export), where readManifest would hold them all. The lines
// are parsed by the same ManifestLineParser, the same checks are made as Manifest.create
// makes, and the top hash is computed as the entries pass.
//
// That is possible only for a manifest in the layout quilt3 writes: directory-metadata lines
// before the entries, entries in walk order. Checking another layout needs every entry at
// once (to sort them, or to find a file named like a later directory line), so the stream
// stops with NotStreamable and the caller loads the manifest whole instead.
//
// The entries are handed out before the top hash is known: the caller keeps what it makes
// of them to itself (a temporary file) until the top hash returned has been compared.
import { splitLineBatches } from "./lines.js";
import { compareLogicalKeys, parentDirs } from "./logical-key.js";
import { duplicateKey, fileAndDirectory, type ManifestEntry } from "./manifest.js";
import { ManifestLineParser } from "./manifest-reader.js";
import { TopHasher } from "./top-hash.js";
import type { JsonObject } from "./json-value.js";
import type { TopHash } from "../types.js";

/** The manifest is valid maybe, but not in quilt3's layout: read it whole (readManifest). */
export class NotStreamable extends Error {}

export interface StreamedManifest {
  header: JsonObject;
  /** Computed over the entries streamed: the caller compares it with the name it asked for. */
  topHash: TopHash;
  entries: number;
}

/** Hands `onBatch` the entries in walk order, a batch per chunk of input, awaiting each. */
export async function streamManifest(
  source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  onBatch: (entries: ManifestEntry[]) => Promise<void> | void,
): Promise<StreamedManifest> {
  const parser = new ManifestLineParser();
  let hasher: TopHasher | undefined;
  /** Paths (without "/") that directory-metadata lines make directories: no file may have one. */
  const dirs = new Set<string>();
  let dirLines = 0;
  let prev: ManifestEntry | undefined;
  let prevLine = 0;
  let count = 0;
  for await (const { lines, first } of splitLineBatches(source)) {
    const batch: ManifestEntry[] = [];
    for (let i = 0; i < lines.length; i++) {
      const number = first + i;
      const entry = parser.parse(lines[i] as string, number);
      if (entry === undefined) {
        if (parser.dirMeta.size > dirLines) {
          if (prev !== undefined) throw new NotStreamable("a directory-metadata line follows entries");
          for (const dir of parser.dirMeta.keys()) {
            for (const p of parentDirs(dir.slice(0, -1) + "/x")) dirs.add(p.slice(0, -1));
          }
          dirLines = parser.dirMeta.size;
        }
        continue;
      }
      const key = entry.logicalKey;
      if (prev !== undefined) {
        const order = compareLogicalKeys(prev.logicalKey, key);
        const prevNumber = prevLine;
        if (order === 0) throw duplicateKey(key, () => [prevNumber, number]);
        if (order > 0) throw new NotStreamable("entries are not in walk order");
        if (key.startsWith(prev.logicalKey) && key.charCodeAt(prev.logicalKey.length) === 0x2f)
          throw fileAndDirectory(prev.logicalKey, prev.logicalKey + "/", () => [prevNumber]);
      }
      if (dirs.has(key)) {
        const dirKey = [...parser.dirMeta.keys()].find((d) => d.startsWith(key + "/")) ?? key + "/";
        throw fileAndDirectory(key, dirKey, () => [number]);
      }
      hasher ??= new TopHasher(parser.header as JsonObject);
      hasher.add(entry);
      batch.push(entry);
      prev = entry;
      prevLine = number;
      count++;
    }
    if (batch.length > 0) await onBatch(batch);
  }
  const header = parser.finish();
  return { header, topHash: (hasher ?? new TopHasher(header)).digest(), entries: count };
}
