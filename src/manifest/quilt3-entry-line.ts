// The entry line exactly as quilt3 (and manifest-writer.ts) prints it, read by matching its
// fixed text instead of JSON.parse: a million-entry first mount spent most of its time
// parsing lines that all have this one shape. Only a line whose strings JSON would keep as
// written (no escape, no control character), whose size is a plain integer that JSON.parse
// keeps exactly, and whose meta is {} is read here; anything else (another key order, other
// spacing, metadata, escapes) returns undefined and takes the general path, which accepts
// and words errors exactly as before. So this path can only answer what the general one
// would answer for the same line: test/unit/quilt3-entry-line.test.ts compares the two.
import type { LogicalKey } from "../types.js";
import { CompactEntry, EMPTY_META, isNormalS3Url } from "./compact-entry.js";
import { logicalKeyProblem } from "./logical-key.js";

// A JSON string with nothing to unescape and nothing JSON refuses (a raw control character).
const LITERAL = String.raw`("[^"\\\x00-\x1f]*")`;
// Up to fifteen digits without a leading zero: JSON (not "01"), and always below 2^53, so
// JSON.parse and Python read the same integer (the exact parser takes sixteen and more).
const SIZE = "(0|[1-9][0-9]{0,14})";
/** One regular expression: V8 runs it as compiled code, five times faster than JSON.parse. */
const QUILT3_ENTRY = new RegExp(
  String.raw`^\{"logical_key": ${LITERAL}, "physical_keys": \[${LITERAL}\], "size": ${SIZE}, ` +
    String.raw`"hash": \{"type": ${LITERAL}, "value": ${LITERAL}\}, "meta": \{\}\}$`,
);

/**
 * The value of a matched JSON string (with its quotes), in a string of its own. The match
 * itself is a view into the line, itself a view into the megabyte of text decoded with it:
 * kept keys (the index build keeps every logical key) would keep the whole manifest's text
 * alive, and a copy by concatenating and slicing is still a view (of the copy), 32 bytes more
 * per key. JSON.parse makes a flat string, and costs no more.
 */
function own(quoted: string): string {
  return JSON.parse(quoted) as string;
}

/** The entry of a line of quilt3's usual shape, or undefined for any other line. */
export function quilt3EntryLine(text: string): CompactEntry | undefined {
  const m = QUILT3_ENTRY.exec(text);
  if (m === null) return undefined;
  const key = own(m[1] as string);
  const url = own(m[2] as string);
  if (!isNormalS3Url(url) || logicalKeyProblem(key) !== null) return undefined;
  return new CompactEntry(
    key as LogicalKey,
    url,
    Number(m[3]),
    own(m[4] as string),
    own(m[5] as string),
    EMPTY_META,
  );
}
