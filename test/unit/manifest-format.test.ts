// The manifest format against quilt3's vectors and Python's json module: parsing keeps
// what Python keeps, writing is byte-identical, top hashes match, bad input is refused
// with the line number and the reason.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readManifest } from "../../src/manifest/manifest-reader.js";
import { serializeManifest } from "../../src/manifest/manifest-writer.js";
import { parseJson } from "../../src/manifest/json-parse.js";
import { PyFloat } from "../../src/manifest/json-value.js";
import { canonicalJson, manifestJson, pythonFloatRepr } from "../../src/manifest/python-json.js";
import { isQuiltError } from "../../src/errors.js";
import { compareCodePoints } from "../../src/code-point-order.js";

const VECTORS = join(import.meta.dirname, "..", "fixtures", "quilt3-vectors");
const vector = (name: string): Buffer => readFileSync(join(VECTORS, name));

const EXPECTED: Record<string, string> = {
  "empty_build.jsonl": "2a5a67156ca9238c14d12042db51c5b52260fdd5511b61ea89b58929d6e1769b",
  "load_into_quilt_push.jsonl": "b8cc6e8caa93d1250afe3a4ae1d47bb4f03a900076d9d12bcb6797df57b273d0",
  "own_tiny_sha256.jsonl": "5718ea75f9c0b19cc51733613b70940061c1ef92dc8b8a126125fc6659535b6a",
};

async function parse(text: string) {
  return readManifest([text]);
}

async function parseError(text: string): Promise<Error> {
  try {
    await parse(text);
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected the manifest to be refused");
}

const HEADER = '{"version": "v0", "message": null}\n';
const entry = (key: string, extra = ""): string =>
  `{"logical_key": ${JSON.stringify(key)}, "physical_keys": ["s3://b/${encodeURIComponent(key)}"], "size": 1, "hash": {"type": "SHA256", "value": "00"}, "meta": {}${extra}}\n`;

describe("quilt3 vectors", () => {
  for (const [file, hash] of Object.entries(EXPECTED)) {
    it(`${file}: top hash and byte-identical rewrite`, async () => {
      const bytes = vector(file);
      const m = await readManifest([bytes]);
      expect(m.topHash).toBe(hash);
      expect(serializeManifest(m).equals(bytes)).toBe(true);
    });
  }

  it("the in-repo copy of the vectors equals the shared original, when that is present", () => {
    const shared = join(import.meta.dirname, "..", "..", "..", "shared", "vectors", "quilt3");
    if (!existsSync(shared)) return;
    for (const file of Object.keys(EXPECTED))
      expect(readFileSync(join(shared, file)).equals(vector(file)), file).toBe(true);
  });

  it("reads a manifest split into chunks at every byte boundary", async () => {
    const bytes = vector("own_tiny_sha256.jsonl");
    for (const cut of [1, 7, 64, bytes.length - 1]) {
      const m = await readManifest([bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect(m.topHash).toBe(EXPECTED["own_tiny_sha256.jsonl"]);
    }
  });

  it("walk order sorts by path component: data/a.csv before data-b.bin", async () => {
    const m = await readManifest([vector("own_tiny_sha256.jsonl")]);
    expect(m.entries.map((e) => e.logicalKey)).toEqual(["README.md", "data/a.csv", "data-b.bin"]);
  });
});

describe("JSON like Python", () => {
  it("keeps 1 and 1.0 apart, big integers exact, key order with integer-like keys", () => {
    const v = parseJson('{"b": 1, "10": 1.0, "a": 12345678901234567890123, "c": -0, "d": 1e5, "e": 0.5}');
    expect(manifestJson(v)).toBe(
      '{"b": 1, "10": 1.0, "a": 12345678901234567890123, "c": 0, "d": 100000.0, "e": 0.5}',
    );
    expect(canonicalJson(v)).toBe('{"10":1.0,"a":12345678901234567890123,"b":1,"c":0,"d":100000.0,"e":0.5}');
    expect((v as Map<string, unknown>).get("10")).toBeInstanceOf(PyFloat);
  });

  it("escapes like ensure_ascii, with astral characters as lowercase surrogate pairs and DEL escaped", () => {
    const v = parseJson('{"k": "é\\u007f😀/\\n\\u0001\\"\\\\"}');
    expect(canonicalJson(v)).toBe('{"k":"\\u00e9\\u007f\\ud83d\\ude00/\\n\\u0001\\"\\\\"}');
    expect(manifestJson(v)).toBe('{"k": "é\x7f😀/\\n\\u0001\\"\\\\"}');
  });

  it("sorts keys by code point, not UTF-16 unit", () => {
    expect(compareCodePoints("\u{E000}", "\u{1F600}")).toBeLessThan(0);
    const v = parseJson('{"\u{1F600}": 1, "\u{E000}": 2}');
    expect(canonicalJson(v)).toBe('{"\\ue000":2,"\\ud83d\\ude00":1}');
  });

  it("prints floats as Python repr", () => {
    const cases: [number, string][] = [
      [1e16, "1e+16"],
      [1e15, "1000000000000000.0"],
      [0.0001, "0.0001"],
      [0.00001, "1e-05"],
      [-0, "-0.0"],
      [1.7976931348623157e308, "1.7976931348623157e+308"],
      [5e-324, "5e-324"],
      [123.456, "123.456"],
    ];
    for (const [x, s] of cases) expect(pythonFloatRepr(x)).toBe(s);
  });

  it("accepts NaN and Infinity as Python does, but refuses to write them", () => {
    const v = parseJson('{"a": NaN, "b": -Infinity}');
    expect(canonicalJson(v)).toBe('{"a":NaN,"b":-Infinity}');
    expect(() => manifestJson(v)).toThrow(/NaN/);
  });

  it("reports JSON syntax errors with a column", () => {
    expect(() => parseJson('{"a": 1,}')).toThrow(/column 9/);
    expect(() => parseJson('{"a": 01}')).toThrow(/Expecting ',' delimiter/);
  });
});

describe("bad manifests are refused with the line and the reason", () => {
  const cases: [string, string, RegExp][] = [
    ["malformed line", HEADER + '{"logical_key": "a", \n', /line 2: bad JSON/],
    [
      "missing field",
      HEADER +
        '{"logical_key": "a", "physical_keys": ["s3://b/a"], "hash": {"type": "SHA256", "value": "00"}, "meta": {}}\n',
      /line 2: field "size"/,
    ],
    [
      "wrong type",
      HEADER +
        '{"logical_key": "a", "physical_keys": ["s3://b/a"], "size": "1", "hash": {"type": "SHA256", "value": "00"}, "meta": {}}\n',
      /line 2: field "size" of "a" must be a non-negative integer below 2\^53, got a string/,
    ],
    [
      "negative size",
      HEADER +
        '{"logical_key": "a", "physical_keys": ["s3://b/a"], "size": -1, "hash": {"type": "SHA256", "value": "00"}, "meta": {}}\n',
      /line 2: field "size" of "a" must be .* got a number -1$/,
    ],
    [
      "fractional size",
      HEADER +
        '{"logical_key": "a", "physical_keys": ["s3://b/a"], "size": 1.5, "hash": {"type": "SHA256", "value": "00"}, "meta": {}}\n',
      /line 2: field "size" of "a" .* got a number 1\.5$/,
    ],
    [
      "size of 2^53",
      HEADER +
        '{"logical_key": "a", "physical_keys": ["s3://b/a"], "size": 9007199254740992, "hash": {"type": "SHA256", "value": "00"}, "meta": {}}\n',
      /line 2: field "size" of "a" .* got a bigint 9007199254740992$/,
    ],
    [
      "size far beyond 2^53",
      HEADER +
        '{"logical_key": "a", "physical_keys": ["s3://b/a"], "size": 123456789012345678901234567890, "hash": {"type": "SHA256", "value": "00"}, "meta": {}}\n',
      /got a bigint 123456789012345678901234567890$/,
    ],
    [
      "size in exponent form",
      HEADER +
        '{"logical_key": "a", "physical_keys": ["s3://b/a"], "size": 1e300, "hash": {"type": "SHA256", "value": "00"}, "meta": {}}\n',
      /line 2: field "size" of "a" .* got a float$/,
    ],
    [
      "float size",
      HEADER +
        '{"logical_key": "a", "physical_keys": ["s3://b/a"], "size": 1.0, "hash": {"type": "SHA256", "value": "00"}, "meta": {}}\n',
      /line 2: field "size"/,
    ],
    [
      "duplicate key",
      HEADER + entry("a") + entry("b") + entry("a"),
      /line 4: duplicate logical key "a" \(first on line 2\)/,
    ],
    ["dotdot key", HEADER + entry("a/../../etc/passwd"), /line 2: invalid logical key .*'\.\.' component/],
    ["dot key", HEADER + entry("./a"), /'\.' component/],
    ["leading slash", HEADER + entry("/etc/passwd"), /starts with '\/'/],
    ["trailing slash", HEADER + entry("a/"), /line 2: invalid directory key|ends with/],
    ["empty component", HEADER + entry("a//b"), /empty component/],
    ["NUL", HEADER + entry("a\u0000b"), /NUL/],
    ["empty key", HEADER + entry(""), /empty/],
    ["file and directory", HEADER + entry("a") + entry("a/b"), /"a" is a file and also a directory/],
    ["header not an object", "[1]\n", /line 1: expected a JSON object/],
    ["empty file", "", /no header/],
    ["blank line", HEADER + "\n" + entry("a"), /line 2: empty line/],
    [
      "bad physical key",
      HEADER +
        '{"logical_key": "a", "physical_keys": ["http://x/a"], "size": 1, "hash": {"type": "SHA256", "value": "00"}, "meta": {}}\n',
      /line 2: bad physical key/,
    ],
    [
      "hash without value",
      HEADER +
        '{"logical_key": "a", "physical_keys": ["s3://b/a"], "size": 1, "hash": {"type": "SHA256"}, "meta": {}}\n',
      /hash\.value/,
    ],
  ];
  for (const [name, text, re] of cases) {
    it(name, async () => {
      const err = await parseError(text);
      expect(isQuiltError(err, "EBADMANIFEST") || isQuiltError(err, "EBADKEY")).toBe(true);
      expect(err.message).toMatch(re);
    });
  }

  it("invalid UTF-8 names its line", async () => {
    const bytes = Buffer.concat([Buffer.from(HEADER), Buffer.from([0x7b, 0xff, 0x7d, 0x0a])]);
    await expect(readManifest([bytes])).rejects.toThrow(/line 2: invalid UTF-8/);
  });
});

describe("preserved content", () => {
  it("keeps unknown header keys and drops the obsolete top_hash", async () => {
    const m = await parse(
      '{"version": "v0", "top_hash": "x", "message": "m", "zzz": [1, 2.0], "workflow": {"id": null}}\n',
    );
    expect(serializeManifest(m).toString()).toBe(
      '{"version": "v0", "message": "m", "zzz": [1, 2.0], "workflow": {"id": null}}\n',
    );
  });

  it("keeps truthy directory metadata in walk order, drops empty ones, and does not hash them", async () => {
    const text =
      HEADER +
      '{"logical_key": "b/", "meta": {"x": 1}}\n' +
      '{"logical_key": "a/c/", "meta": {}}\n' +
      '{"logical_key": "a/", "meta": "note"}\n' +
      entry("a/c/f") +
      entry("b/g");
    const m = await parse(text);
    const out = serializeManifest(m).toString().split("\n");
    expect(out[1]).toBe('{"logical_key": "a/", "meta": "note"}');
    expect(out[2]).toBe('{"logical_key": "b/", "meta": {"x": 1}}');
    expect(out[3]).toMatch(/"logical_key": "a\/c\/f"/);
    const bare = await parse(HEADER + entry("a/c/f") + entry("b/g"));
    expect(m.topHash).toBe(bare.topHash);
  });

  it("null meta loads as {} and physical keys are normalized as quilt3 writes them", async () => {
    const m = await parse(
      HEADER +
        '{"logical_key": "a b", "physical_keys": ["s3://b/x y.txt?versionId=v%201"], "size": 3, "hash": {"type": "SHA256", "value": "00", "extra": 1}, "meta": null}\n',
    );
    expect(serializeManifest(m).toString().split("\n")[1]).toBe(
      '{"logical_key": "a b", "physical_keys": ["s3://b/x%20y.txt?versionId=v+1"], "size": 3, "hash": {"type": "SHA256", "value": "00", "extra": 1}, "meta": {}}',
    );
  });
});
