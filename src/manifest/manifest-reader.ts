// Reads a JSONL manifest line by line (streaming: a manifest of millions of entries is
// never held as one string). Every problem is reported with its line number and what is
// wrong, and nothing is returned unless the whole file is valid.
import { QuiltError } from "../errors.js";
import type { LogicalKey } from "../types.js";
import { JsonSyntaxError, parseJson } from "./json-parse.js";
import { isJsonObject, type JsonObject, type JsonValue } from "./json-value.js";
import { logicalKeyProblem, LOGICAL_KEY_RULES } from "./logical-key.js";
import { Manifest, type ManifestEntry } from "./manifest.js";
import { PhysicalKey } from "./physical-key.js";
import { splitLines } from "./lines.js";

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

/** Parses manifest text from any source of UTF-8 chunks (a file stream, a Buffer, a string). */
export async function readManifest(source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>): Promise<Manifest> {
  let header: JsonObject | undefined;
  const entries: ManifestEntry[] = [];
  const dirMeta = new Map<string, JsonValue>();
  const lineOf = new Map<string, number>();
  for await (const { text, number } of splitLines(source)) {
    if (text === "") throw lineError(number, "empty line");
    let value: JsonValue;
    try {
      value = parseJson(text);
    } catch (err) {
      if (err instanceof JsonSyntaxError) throw lineError(number, `bad JSON: ${err.message}`);
      throw err;
    }
    if (!isJsonObject(value)) throw lineError(number, `expected a JSON object, got ${typeName(value)}`);
    if (header === undefined) {
      header = value;
      continue;
    }
    const entry = parseEntryLine(value, number, dirMeta);
    if (entry === undefined) continue;
    const first = lineOf.get(entry.logicalKey);
    if (first !== undefined) throw lineError(number, `duplicate logical key ${JSON.stringify(entry.logicalKey)} (first on line ${first})`);
    lineOf.set(entry.logicalKey, number);
    entries.push(entry);
  }
  if (header === undefined) throw new QuiltError("EBADMANIFEST", "Manifest is empty: it has no header line", { hint: FORMAT_HINT });
  return Manifest.create({ header, dirMeta, entries }, (key) => {
    const n = lineOf.get(key);
    return n === undefined ? "" : `Manifest line ${n}: `;
  });
}

/** An entry, or undefined for a directory-metadata line (recorded in `dirMeta`). */
function parseEntryLine(obj: JsonObject, line: number, dirMeta: Map<string, JsonValue>): ManifestEntry | undefined {
  const key = obj.get("logical_key");
  if (typeof key !== "string") throw lineError(line, `field "logical_key" must be a string, got ${typeName(key)}`);
  const pks = obj.get("physical_keys");
  const meta = obj.get("meta");
  // quilt3 treats a line without (or with empty) physical_keys as directory metadata.
  if (pks === undefined || pks === null || (Array.isArray(pks) && pks.length === 0)) {
    const dir = key.endsWith("/") ? key.slice(0, -1) : key;
    const problem = key.endsWith("/") ? logicalKeyProblem(dir) : "a directory-metadata key must end with '/'";
    if (problem !== null) throw lineError(line, `invalid directory key ${JSON.stringify(key)}: ${problem}`, LOGICAL_KEY_RULES);
    if (meta === undefined) throw lineError(line, `directory-metadata line for ${JSON.stringify(key)} has no "meta" field`);
    dirMeta.set(key, meta);
    return undefined;
  }
  const problem = logicalKeyProblem(key);
  if (problem !== null) throw lineError(line, `invalid logical key ${JSON.stringify(key)}: ${problem}`, LOGICAL_KEY_RULES);
  if (!Array.isArray(pks) || typeof pks[0] !== "string") {
    throw lineError(line, `field "physical_keys" must be a list of URL strings, got ${typeName(pks)}`);
  }
  let physicalKey: PhysicalKey;
  try {
    physicalKey = PhysicalKey.fromUrl(pks[0]);
  } catch (err) {
    throw lineError(line, `bad physical key: ${(err as Error).message}`);
  }
  const size = obj.get("size");
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw lineError(line, `field "size" must be a non-negative integer, got ${typeName(size)}${typeof size === "number" ? ` ${size}` : ""}`);
  }
  const hash = obj.get("hash");
  if (!isJsonObject(hash)) throw lineError(line, `field "hash" must be an object with "type" and "value", got ${typeName(hash)}`);
  for (const f of ["type", "value"]) {
    if (typeof hash.get(f) !== "string") throw lineError(line, `field "hash.${f}" must be a string, got ${typeName(hash.get(f))}`);
  }
  if (meta !== undefined && meta !== null && !isJsonObject(meta)) {
    throw lineError(line, `field "meta" must be an object or null, got ${typeName(meta)}`);
  }
  return { logicalKey: key as LogicalKey, physicalKey, size, hash, meta: meta ?? new Map() };
}
