// Writes a manifest byte-identical to quilt3's Package._dump: header, directory-metadata
// lines whose meta is truthy (in walk order), then entries in walk order with the keys
// logical_key, physical_keys, size, hash, meta.
import { QuiltError } from "../errors.js";
import { isPythonTruthy } from "./json-value.js";
import type { Manifest, ManifestEntry } from "./manifest.js";
import { manifestJson, NonFiniteNumberError, pythonStringUnicode } from "./python-json.js";

/** quilt3's limit on one record (bytes of JSON, newline excluded), so S3 Select and Athena work. */
export const DEFAULT_MAX_RECORD_BYTES = 1_000_000;

function maxRecordBytes(): number {
  const env = Number(process.env.QUILT_MANIFEST_MAX_RECORD_SIZE);
  return Number.isSafeInteger(env) && env > 0 ? env : DEFAULT_MAX_RECORD_BYTES;
}

function checked(line: string, what: string, limit: number): string {
  // A lone surrogate (read from a "\ud800" escape) has no UTF-8 form: writing it would
  // silently change the value (to U+FFFD) and the top hash; quilt3 refuses it too.
  if (!line.isWellFormed()) {
    throw new QuiltError(
      "EUSAGE",
      `Cannot write ${what}: it holds a lone surrogate (an unpaired \\ud800-\\udfff escape), which UTF-8 cannot encode`,
      {
        hint: "replace the value with valid Unicode text",
      },
    );
  }
  // Cheap bound first: a UTF-16 unit is at most 3 UTF-8 bytes.
  if (line.length * 3 > limit) {
    const bytes = Buffer.byteLength(line, "utf8");
    if (bytes > limit) {
      throw new QuiltError(
        "EUSAGE",
        `Size of manifest record for ${what} is ${bytes} bytes, but must be less than ${limit} bytes`,
        {
          hint: "keep metadata under 1 MB per object and per package; QUILT_MANIFEST_MAX_RECORD_SIZE overrides the limit",
        },
      );
    }
  }
  return line;
}

function encode(fn: () => string, what: string): string {
  try {
    return fn();
  } catch (err) {
    if (err instanceof NonFiniteNumberError)
      throw new QuiltError("EUSAGE", `Cannot write ${what}: ${err.message}`);
    throw err;
  }
}

export function entryLine(e: ManifestEntry): string {
  return (
    `{"logical_key": ${pythonStringUnicode(e.logicalKey)}, "physical_keys": [${pythonStringUnicode(e.physicalKey.toString())}], ` +
    `"size": ${e.size}, "hash": ${manifestJson(e.hash)}, "meta": ${manifestJson(e.meta)}}`
  );
}

/** The manifest's lines, each with its trailing newline. */
export function* manifestLines(m: Manifest): Generator<string> {
  const limit = maxRecordBytes();
  yield (
    checked(
      encode(() => manifestJson(m.header), "package metadata"),
      "package metadata",
      limit,
    ) + "\n"
  );
  for (const [dir, meta] of m.dirMeta) {
    if (!isPythonTruthy(meta)) continue; // quilt3 drops empty directory metadata
    const what = `directory ${JSON.stringify(dir)}`;
    const line = encode(
      () => `{"logical_key": ${pythonStringUnicode(dir)}, "meta": ${manifestJson(meta)}}`,
      what,
    );
    yield checked(line, what, limit) + "\n";
  }
  for (const e of m.entries) {
    const what = `entry with logical key ${JSON.stringify(e.logicalKey)}`;
    yield (
      checked(
        encode(() => entryLine(e), what),
        what,
        limit,
      ) + "\n"
    );
  }
}

/** Lines are gathered into strings of about this many characters before each becomes bytes. */
const BATCH_CHARS = 1 << 20;

/**
 * The manifest's bytes in batches of about BATCH_CHARS: a writer streaming them to a file
 * holds one batch, not the manifest's bytes (about 250 MB at a million entries).
 */
export function* manifestChunks(m: Manifest): Generator<Buffer> {
  let batch = "";
  for (const line of manifestLines(m)) {
    batch += line;
    if (batch.length >= BATCH_CHARS) {
      yield Buffer.from(batch, "utf8");
      batch = "";
    }
  }
  if (batch !== "") yield Buffer.from(batch, "utf8");
}

export function serializeManifest(m: Manifest): Buffer {
  // In batches: a million entries as one array of lines, then one string, then its bytes,
  // held three copies of a 250 MB manifest at once; batches hold the bytes and one batch.
  const chunks = [...manifestChunks(m)];
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
}
