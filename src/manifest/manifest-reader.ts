// Reads a JSONL manifest line by line (streaming: a manifest of millions of entries is
// never held as one string). Every problem is reported with its line number and what is
// wrong, and nothing is returned unless the whole file is valid.
import { QuiltError } from "../errors.js";
import type { LogicalKey } from "../types.js";
import { JsonSyntaxError, modelFromNative, parseJson, parseNativeIfExact } from "./json-parse.js";
import { isJsonObject, type JsonObject, type JsonValue } from "./json-value.js";
import { logicalKeyProblem, LOGICAL_KEY_RULES } from "./logical-key.js";
import { Manifest, type ManifestEntry } from "./manifest.js";
import { PhysicalKey } from "./physical-key.js";
import { splitLineBatches } from "./lines.js";
import { CompactEntry, EMPTY_META, isNormalS3Url } from "./compact-entry.js";
import { quoted } from "../untrusted-text.js";
import { quilt3EntryLine } from "./quilt3-entry-line.js";

const FORMAT_HINT = "see QUILT_FORMAT.md: line 1 is the header object, then one entry object per line";

function lineError(line: number, message: string, hint = FORMAT_HINT): QuiltError {
  return new QuiltError("EBADMANIFEST", `Manifest line ${line}: ${message}`, { hint });
}

function typeName(v: JsonValue | undefined): string {
  if (v === undefined) return "missing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (isJsonObject(v)) return "an object";
  if (typeof v === "object") return "a float";
  return `a ${typeof v}`;
}

/**
 * One manifest line at a time, in file order: the header first, then entries and
 * directory-metadata lines (collected in `dirMeta`). readManifest and the streaming reader
 * (manifest-stream.ts) share it, so both accept and word exactly the same lines.
 */
export class ManifestLineParser {
  header: JsonObject | undefined;
  readonly dirMeta = new Map<string, JsonValue>();

  /** The entry on this line, or undefined for the header or a directory-metadata line. */
  parse(text: string, number: number): ManifestEntry | undefined {
    if (text === "") throw lineError(number, "empty line");
    if (this.header === undefined) {
      this.header = parseObjectLine(text, number);
      return undefined;
    }
    return parseEntryLine(text, number, this.dirMeta);
  }

  /** The header, once every line was parsed: a manifest without one is refused. */
  finish(): JsonObject {
    if (this.header === undefined)
      throw new QuiltError("EBADMANIFEST", "Manifest is empty: it has no header line", { hint: FORMAT_HINT });
    return this.header;
  }
}

/** Parses manifest text from any source of UTF-8 chunks (a file stream, a Buffer, a string). */
export async function readManifest(
  source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
): Promise<Manifest> {
  const parser = new ManifestLineParser();
  const entries: ManifestEntry[] = [];
  const lineNumbers: number[] = [];
  for await (const { lines, first } of splitLineBatches(source)) {
    for (let i = 0; i < lines.length; i++) {
      const entry = parser.parse(lines[i] as string, first + i);
      if (entry === undefined) continue;
      entries.push(entry);
      lineNumbers.push(first + i);
    }
  }
  const header = parser.finish();
  // The key-to-line lookup runs only on error, so loading keeps no per-key index.
  return Manifest.create({ header, dirMeta: parser.dirMeta, entries }, (key) =>
    entries.flatMap((e, i) => (e.logicalKey === key ? [lineNumbers[i] as number] : [])),
  );
}

/** One file entry's manifest line (as the index keeps it), parsed and checked as the reader does. */
export function parseEntry(text: string): ManifestEntry {
  const entry = parseEntryLine(text, 0, new Map());
  if (entry === undefined) throw lineError(0, "expected a file entry, got a directory-metadata line");
  return entry;
}

function parseObjectLine(text: string, number: number): JsonObject {
  let value: JsonValue;
  try {
    value = parseJson(text);
  } catch (err) {
    if (err instanceof JsonSyntaxError) throw lineError(number, `bad JSON: ${err.message}`);
    throw err;
  }
  if (!isJsonObject(value)) throw lineError(number, `expected a JSON object, got ${typeName(value)}`);
  return value;
}

/**
 * The common line, read straight from JSON.parse's object: string logical key, one normal
 * S3 URL, a safe integer size, a {"type","value"} hash, and meta {} (or absent/null).
 * Anything else returns undefined and takes the general path, which also words errors.
 */
function fastEntry(text: string): CompactEntry | undefined {
  const o = parseNativeIfExact(text) as Record<string, unknown> | undefined;
  if (typeof o !== "object" || o === null || Array.isArray(o)) return undefined;
  const key = o.logical_key;
  const pks = o.physical_keys;
  const size = o.size;
  const hash = o.hash as Record<string, unknown> | undefined;
  const meta = o.meta;
  if (typeof key !== "string" || !Array.isArray(pks) || typeof pks[0] !== "string" || !isNormalS3Url(pks[0]))
    return undefined;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) return undefined;
  if (typeof hash !== "object" || hash === null || Array.isArray(hash)) return undefined;
  const hk = Object.keys(hash);
  if (
    hk.length !== 2 ||
    hk[0] !== "type" ||
    hk[1] !== "value" ||
    typeof hash.type !== "string" ||
    typeof hash.value !== "string"
  )
    return undefined;
  let m: JsonObject | undefined;
  if (meta === undefined || meta === null) m = EMPTY_META;
  else if (typeof meta !== "object" || Array.isArray(meta)) return undefined;
  else m = Object.keys(meta).length === 0 ? EMPTY_META : (modelFromNative(meta) as JsonObject | undefined);
  if (m === undefined) return undefined; // nested too deeply: the general path says so
  if (logicalKeyProblem(key) !== null) return undefined;
  return new CompactEntry(key as LogicalKey, pks[0], size, hash.type, hash.value, m);
}

/** An entry, or undefined for a directory-metadata line (recorded in `dirMeta`). */
function parseEntryLine(
  text: string,
  line: number,
  dirMeta: Map<string, JsonValue>,
): ManifestEntry | undefined {
  // quilt3's usual line first (no JSON.parse), then any line JSON.parse reads exactly.
  const fast = quilt3EntryLine(text) ?? fastEntry(text);
  if (fast) return fast;
  const obj = parseObjectLine(text, line);
  const key = obj.get("logical_key");
  if (typeof key !== "string")
    throw lineError(line, `field "logical_key" must be a string, got ${typeName(key)}`);
  const pks = obj.get("physical_keys");
  const meta = obj.get("meta");
  // quilt3 treats a line without (or with empty) physical_keys as directory metadata.
  if (pks === undefined || pks === null || (Array.isArray(pks) && pks.length === 0)) {
    const dir = key.endsWith("/") ? key.slice(0, -1) : key;
    const problem = key.endsWith("/") ? logicalKeyProblem(dir) : "a directory-metadata key must end with '/'";
    if (problem !== null)
      throw lineError(line, `invalid directory key ${quoted(key)}: ${problem}`, LOGICAL_KEY_RULES);
    if (meta === undefined)
      throw lineError(line, `directory-metadata line for ${quoted(key)} has no "meta" field`);
    dirMeta.set(key, meta);
    return undefined;
  }
  const problem = logicalKeyProblem(key);
  if (problem !== null)
    throw lineError(line, `invalid logical key ${quoted(key)}: ${problem}`, LOGICAL_KEY_RULES);
  if (!Array.isArray(pks) || typeof pks[0] !== "string") {
    throw lineError(line, `field "physical_keys" must be a list of URL strings, got ${typeName(pks)}`);
  }
  const url = pks[0];
  let physicalKey: PhysicalKey | undefined;
  if (!isNormalS3Url(url)) {
    try {
      physicalKey = PhysicalKey.fromUrl(url);
    } catch (err) {
      throw lineError(line, `bad physical key: ${(err as Error).message}`);
    }
  }
  const size = obj.get("size");
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    // Named with its key and value: a size beyond 2^53 cannot be a byte count (it would show
    // as thousands of TiB in progress and plan reads that never end).
    const shown = typeof size === "number" || typeof size === "bigint" ? ` ${size}` : "";
    throw lineError(
      line,
      `field "size" of ${JSON.stringify(key)} must be a non-negative integer below 2^53, got ${typeName(size)}${shown}`,
    );
  }
  const hash = obj.get("hash");
  if (!isJsonObject(hash))
    throw lineError(line, `field "hash" must be an object with "type" and "value", got ${typeName(hash)}`);
  const type = hash.get("type");
  const value = hash.get("value");
  if (typeof type !== "string")
    throw lineError(line, `field "hash.type" must be a string, got ${typeName(type)}`);
  if (typeof value !== "string")
    throw lineError(line, `field "hash.value" must be a string, got ${typeName(value)}`);
  if (meta !== undefined && meta !== null && !isJsonObject(meta)) {
    throw lineError(line, `field "meta" must be an object or null, got ${typeName(meta)}`);
  }
  const m = meta === undefined || meta === null || meta.size === 0 ? EMPTY_META : meta;
  // The usual entry keeps strings only; anything unusual keeps its parsed objects.
  if (hash.size === 2 && hash.keys().next().value === "type") {
    return new CompactEntry(
      key as LogicalKey,
      physicalKey ? physicalKey.toString() : url,
      size,
      type,
      value,
      m,
    );
  }
  return {
    logicalKey: key as LogicalKey,
    physicalKey: physicalKey ?? PhysicalKey.fromUrl(url),
    size,
    hash,
    meta: m,
  };
}
