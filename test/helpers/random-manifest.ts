// Random manifests for property tests against the real quilt3: unicode and astral keys
// and values, floats of every magnitude, big integers, nested meta, deep and odd logical
// keys, directory-metadata lines. Each case is written as raw JSONL with randomized but
// valid spellings (number forms like 1.50 or 15e-1, \u escapes, extra whitespace, any key
// order) so that the reader, not just the writer, is exercised.
import fc from "fast-check";
import { PyFloat, type JsonObject, type JsonValue } from "../../src/manifest/json-value.js";
import { PhysicalKey } from "../../src/manifest/physical-key.js";
import { pythonFloatRepr } from "../../src/manifest/python-json.js";

const SPECIAL = [
  " ",
  "-",
  "_",
  ".",
  "#",
  "?",
  "%",
  "+",
  "&",
  "=",
  "~",
  "!",
  "'",
  "(",
  ")",
  "*",
  ",",
  ";",
  "@",
  "é",
  "中",
  "😀",
  "\u{E000}",
  "\u{FFFF}",
  "\u{10FFFF}",
  "\u007f",
  "\t",
  "\u0001",
  '"',
  "\\",
  "ß",
  "İ",
];

const text = (maxLength: number, minLength = 0): fc.Arbitrary<string> =>
  fc
    .oneof(
      {
        weight: 3,
        arbitrary: fc.string({
          unit: fc.constantFrom(..."abcXYZ0129".split(""), ...SPECIAL),
          minLength,
          maxLength,
        }),
      },
      { weight: 1, arbitrary: fc.string({ unit: "binary", minLength, maxLength }) },
    )
    .filter((s) => s.isWellFormed());

const component = text(8, 1).filter((s) => s !== "." && s !== ".." && !s.includes("/") && !s.includes("\0"));

const number: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.integer(),
  fc
    .bigInt({ min: -(2n ** 90n), max: 2n ** 90n })
    .map((b) => (b >= -(2n ** 53n) + 1n && b <= 2n ** 53n - 1n ? Number(b) : b)),
  fc
    .double({ noNaN: true, noDefaultInfinity: true })
    .map((x) => (Number.isInteger(x) || Object.is(x, -0) ? new PyFloat(x) : x)),
  fc.constantFrom(new PyFloat(1), new PyFloat(1e16), new PyFloat(-0), 0.1, 1e-5, 1e-4, 1.2345678901234567e19),
);

const { json } = fc.letrec<{ json: JsonValue }>((tie) => ({
  json: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    text(12),
    number,
    fc.array(tie("json"), { maxLength: 4 }),
    fc.array(fc.tuple(text(6), tie("json")), { maxLength: 4 }).map((kv) => new Map(kv) as JsonObject),
  ),
}));

const object: fc.Arbitrary<JsonObject> = fc
  .array(fc.tuple(text(6), json), { maxLength: 5 })
  .map((kv) => new Map(kv));

export interface RandomEntry {
  key: string;
  physicalKey: string;
  size: number;
  hash: JsonObject;
  meta: JsonObject | null;
}

export interface RandomManifest {
  header: JsonObject;
  dirMeta: [string, JsonValue][];
  entries: RandomEntry[];
}

const physicalKey = fc.oneof(
  fc
    .tuple(
      fc.constantFrom("bucket", "my-bucket.data", "b0"),
      fc.array(component, { minLength: 1, maxLength: 4 }),
      fc.option(text(10, 1), { nil: null }),
    )
    .map(([b, parts, v]) => PhysicalKey.s3(b, parts.join("/"), v).toString()),
  fc
    .array(component, { minLength: 1, maxLength: 3 })
    .map((parts) => PhysicalKey.local("/nonexistent-quilt-root/" + parts.join("/")).toString()),
);

const hashObject: fc.Arbitrary<JsonObject> = fc.oneof(
  fc.base64String({ minLength: 44, maxLength: 44 }).map(
    (v) =>
      new Map<string, JsonValue>([
        ["type", "sha2-256-chunked"],
        ["value", v],
      ]),
  ),
  fc.stringMatching(/^[0-9a-f]{64}$/).map(
    (v) =>
      new Map<string, JsonValue>([
        ["type", "SHA256"],
        ["value", v],
      ]),
  ),
);

export const randomManifest: fc.Arbitrary<RandomManifest> = fc
  .record({
    message: fc.option(text(20), { nil: null }),
    userMeta: fc.option(object, { nil: undefined }),
    extra: fc.option(object, { nil: undefined }),
    keys: fc.uniqueArray(
      fc.array(component, { minLength: 1, maxLength: 6 }).map((p) => p.join("/")),
      { maxLength: 12 },
    ),
    entryData: fc.array(
      fc.record({
        physicalKey,
        size: fc.maxSafeNat(),
        hash: hashObject,
        meta: fc.option(object, { nil: null }),
        userMeta: fc.option(json),
      }),
      {
        minLength: 12,
        maxLength: 12,
      },
    ),
    dirMeta: fc.array(json, { maxLength: 3 }),
  })
  .map(({ message, userMeta, extra, keys, entryData, dirMeta }) => {
    // Drop keys that are a directory of another key (a file cannot also be a directory).
    const files = keys.filter((k) => !keys.some((o) => o.startsWith(k + "/")));
    const header: JsonObject = new Map<string, JsonValue>([
      ["version", "v0"],
      ["message", message],
    ]);
    if (userMeta) header.set("user_meta", userMeta);
    for (const [k, v] of extra ?? [])
      if (!["version", "message", "user_meta", "top_hash"].includes(k)) header.set(k, v);
    const entries = files.map((key, i) => {
      const d = entryData[i % entryData.length] as (typeof entryData)[number];
      const meta = d.meta === null ? null : new Map(d.meta);
      if (meta && d.userMeta !== null) meta.set("user_meta", d.userMeta);
      return { key, physicalKey: d.physicalKey, size: d.size, hash: d.hash, meta };
    });
    const dirs = [
      ...new Set(
        files.flatMap((k) =>
          k
            .split("/")
            .slice(0, -1)
            .map((_, i, parts) => parts.slice(0, i + 1).join("/") + "/"),
        ),
      ),
    ];
    const dm: [string, JsonValue][] = dirs
      .slice(0, dirMeta.length)
      .map((d, i) => [d, dirMeta[i] as JsonValue]);
    return { header, dirMeta: dm, entries };
  });

// ---- raw JSONL with randomized spellings -------------------------------------------------

/** A tiny deterministic PRNG so a case's text is reproducible from its index. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

function floatSpelling(x: number, r: () => number): string {
  const canonical = pythonFloatRepr(x);
  if (!Number.isFinite(x) || r() < 0.4) return canonical;
  if (x === 0)
    return (Object.is(x, -0) ? "-" : "") + (["0.0", "0.000", "0e0", "0.0E+5"][Math.floor(r() * 4)] as string);
  const [m, e] = x.toExponential().split("e") as [string, string];
  const sign = m.startsWith("-") ? "-" : "";
  const digits = m.replace("-", "").replace(".", "");
  const exp = Number(e);
  const shift = Math.floor(r() * 3); // move the decimal point right by `shift` digits
  const padded = digits.padEnd(shift + 1, "0");
  const mant = padded.slice(0, shift + 1) + "." + (padded.slice(shift + 1) || "0") + (r() < 0.5 ? "00" : "");
  const ee = exp - shift;
  return `${sign}${mant}${r() < 0.5 ? "e" : "E"}${ee >= 0 && r() < 0.5 ? "+" : ""}${ee}`;
}

function rawString(s: string, r: () => number): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    const mustEscape = c < 0x20 || ch === '"' || ch === "\\";
    if (mustEscape || r() < 0.1) {
      if (ch === "/" && r() < 0.5) out += "\\/";
      else
        for (const unit of ch.split(""))
          out +=
            "\\u" +
            unit.charCodeAt(0).toString(16).padStart(4, "0")[r() < 0.5 ? "toLowerCase" : "toUpperCase"]();
    } else out += ch;
  }
  return out + '"';
}

function ws(r: () => number): string {
  const x = r();
  return x < 0.7 ? "" : x < 0.9 ? " " : "\t ";
}

export function rawJson(v: JsonValue, r: () => number): string {
  if (v === null) return "null";
  if (typeof v === "boolean") return String(v);
  if (typeof v === "string") return rawString(v, r);
  if (typeof v === "bigint") return v.toString();
  if (v instanceof PyFloat) return floatSpelling(v.value, r);
  if (typeof v === "number") return Number.isInteger(v) ? BigInt(v).toString() : floatSpelling(v, r);
  if (Array.isArray(v))
    return "[" + ws(r) + v.map((x) => rawJson(x, r)).join(ws(r) + "," + ws(r)) + ws(r) + "]";
  const parts = [...v].map(([k, x]) => rawString(k, r) + ws(r) + ":" + ws(r) + rawJson(x, r));
  return "{" + ws(r) + parts.join("," + ws(r)) + ws(r) + "}";
}

function shuffled<T>(xs: T[], r: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** The manifest as raw JSONL; lines in random order after the header. */
export function rawManifest(m: RandomManifest, seed: number): string {
  const r = rng(seed);
  const lines = [rawJson(m.header, r)];
  const body: string[] = [];
  for (const [dir, meta] of m.dirMeta)
    body.push(
      rawJson(
        new Map<string, JsonValue>(
          shuffled(
            [
              ["logical_key", dir],
              ["meta", meta],
            ],
            r,
          ),
        ),
        r,
      ),
    );
  for (const e of m.entries) {
    const fields: [string, JsonValue][] = [
      ["logical_key", e.key],
      ["physical_keys", [e.physicalKey]],
      ["size", e.size],
      ["hash", e.hash],
      ["meta", e.meta],
    ];
    body.push(rawJson(new Map(shuffled(fields, r)), r));
  }
  return [...lines, ...shuffled(body, r)].join("\n") + "\n";
}
