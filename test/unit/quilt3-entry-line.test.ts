// quilt3EntryLine (the template read of quilt3's usual entry line, without JSON.parse) against
// the exact path: whenever it answers, its entry must be the one the exact parser's model
// gives (same key, URL, size, hash) and hash into the top hash byte for byte as quilt3's
// canonical JSON of that model; a line the general path refuses (bad JSON, a bad key, a
// number JSON.parse would not keep) it must leave to the general path.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseJson } from "../../src/manifest/json-parse.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../src/manifest/json-value.js";
import { logicalKeyProblem } from "../../src/manifest/logical-key.js";
import { parseEntry } from "../../src/manifest/manifest-reader.js";
import { canonicalJson } from "../../src/manifest/python-json.js";
import { quilt3EntryLine } from "../../src/manifest/quilt3-entry-line.js";
import { entryHashPart } from "../../src/manifest/top-hash.js";
import { CompactEntry, isNormalS3Url } from "../../src/manifest/compact-entry.js";

/** A line of quilt3's shape with each field's text inserted as is (so it may be invalid JSON). */
function line(
  key: string,
  url = "s3://b/k",
  size = "12",
  type = "SHA256",
  value = "ab",
  meta = "{}",
): string {
  return (
    `{"logical_key": "${key}", "physical_keys": ["${url}"], "size": ${size}, ` +
    `"hash": {"type": "${type}", "value": "${value}"}, "meta": ${meta}}`
  );
}

/** What the exact parser makes of the line's hashed fields, or undefined when it refuses the line. */
function exact(text: string): { hashPart: string; url: JsonValue; key: string } | undefined {
  let o: JsonValue;
  try {
    o = parseJson(text);
  } catch {
    return undefined;
  }
  if (!isJsonObject(o)) return undefined;
  const key = o.get("logical_key");
  const pks = o.get("physical_keys");
  if (typeof key !== "string" || !Array.isArray(pks)) return undefined;
  const part: JsonObject = new Map([
    ["hash", o.get("hash") as JsonValue],
    ["logical_key", key],
    ["meta", o.get("meta") as JsonValue],
    ["size", o.get("size") as JsonValue],
  ]);
  return { hashPart: canonicalJson(part), url: pks[0] as JsonValue, key };
}

/** The property: the template read answers only as the exact path does. */
function agrees(text: string): CompactEntry | undefined {
  const fast = quilt3EntryLine(text);
  if (fast === undefined) return undefined;
  const want = exact(text);
  expect(want, `exact parser refuses ${JSON.stringify(text)}`).toBeDefined();
  expect(entryHashPart(fast)).toBe(want?.hashPart);
  expect(fast.url).toBe(want?.url);
  expect(fast.logicalKey).toBe(want?.key);
  expect(logicalKeyProblem(fast.logicalKey)).toBeNull();
  expect(isNormalS3Url(fast.url)).toBe(true);
  return fast;
}

describe("quilt3EntryLine", () => {
  it("reads quilt3's usual line as the exact parser does, keys in their own strings", () => {
    const e = agrees(
      line("data/é/ü 1.csv", "s3://bucket/data/%C3%A9?versionId=v1", "0", "SHA256", "f".repeat(64)),
    );
    expect(e).toBeInstanceOf(CompactEntry);
    expect(e?.size).toBe(0);
    expect(agrees(line("a", "s3://b/a", "999999999999999"))?.size).toBe(999999999999999);
    // The line as this package's writer prints it: the reader's general path gives the same entry.
    expect(parseEntry(line("x/y", "s3://b/x/y", "7"))).toEqual(
      quilt3EntryLine(line("x/y", "s3://b/x/y", "7")),
    );
  });

  it.each([
    ["an escape in the key", line(String.raw`a\u0041`)],
    ["an escaped lone surrogate", line(String.raw`a\ud800`)],
    ["a quote escape", line(String.raw`a\"b`)],
    ["a raw tab in the key (not JSON)", line("a\tb")],
    ["a raw control character in the hash", line("a", "s3://b/k", "1", "SHA256", "a\u0001")],
    ["a leading zero (not JSON)", line("a", "s3://b/k", "01")],
    ["a negative size", line("a", "s3://b/k", "-1")],
    ["minus zero", line("a", "s3://b/k", "-0")],
    ["a float size", line("a", "s3://b/k", "1.0")],
    ["an exponent", line("a", "s3://b/k", "1e3")],
    ["sixteen digits", line("a", "s3://b/k", "1234567890123456")],
    ["a size beyond 2^53", line("a", "s3://b/k", "9007199254740993")],
    ["NaN", line("a", "s3://b/k", "NaN")],
    ["metadata", line("a", "s3://b/k", "1", "SHA256", "ab", '{"x": 1.0}')],
    ["null meta", line("a", "s3://b/k", "1", "SHA256", "ab", "null")],
    ["a '..' component", line("a/../b")],
    ["a '.' component", line("./b")],
    ["an empty component", line("a//b")],
    ["a trailing slash (directory metadata)", line("a/")],
    ["an empty key", line("")],
    ["a NUL", line("a\u0000b")],
    ["a local physical key", line("a", "file:///tmp/a")],
    ["an unquoted URL", line("a", "s3://b/a b")],
    ["a bad percent escape", line("a", "s3://b/%zz")],
    ["two physical keys", line("a").replace('"s3://b/k"]', '"s3://b/k", "s3://b/j"]')],
    ["other spacing", line("a").replace('"size": 12', '"size":12')],
    [
      "another key order",
      line("a").replace('{"type": "SHA256", "value": "ab"}', '{"value": "ab", "type": "SHA256"}'),
    ],
    ["trailing text", line("a") + " "],
    ["a repeated field", line("a").replace('"meta": {}}', '"meta": {}, "size": 3}')],
  ])("leaves %s to the general path", (_what, text) => {
    expect(quilt3EntryLine(text)).toBeUndefined();
  });

  it("keys with dots, non-ASCII and astral characters are read as the exact parser reads them", () => {
    for (const key of ["a.b/.c", "..a/b..", "x/😀.bin", "日本/語", "a b/c\u007f", "\u2028"]) {
      const text = line(key, "s3://b/k");
      const fast = agrees(text);
      // A key the plain-key pattern does not take is still read, through the full rules.
      if (logicalKeyProblem(key) === null) expect(fast?.logicalKey).toBe(key);
      else expect(fast).toBeUndefined();
    }
  });

  it("never answers differently from the exact parser on generated lines", () => {
    const piece = fc.constantFrom(
      "a",
      "/",
      ".",
      "..",
      '"',
      "\\",
      "\\u0041",
      "\t",
      "\u0000",
      "é",
      "😀",
      "\ud800",
      " ",
      "%",
      "%2F",
    );
    const text = fc.array(piece, { maxLength: 8 }).map((p) => p.join(""));
    const size = fc.constantFrom(
      "0",
      "7",
      "01",
      "-0",
      "1.5",
      "1e2",
      "123456789012345",
      "1234567890123456",
      "NaN",
    );
    fc.assert(
      fc.property(text, text, size, text, text, (key, path, sz, type, value) => {
        agrees(line(key, `s3://b/${path}`, sz, type, value));
      }),
      { numRuns: 3000 },
    );
  });
});
