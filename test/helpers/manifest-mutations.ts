// Mutations of manifest bytes for the parser fuzz test: what a corrupt download, a broken
// writer or a hostile registry could hand the reader. Each takes the bytes and a seeded
// PRNG and returns new bytes; `mutate` applies one to three of them.
import type { Rng } from "./fuzz.js";

type Mutation = (b: Buffer, r: Rng) => Buffer;

const NL = 0x0a;

function lines(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let nl = b.indexOf(NL); nl >= 0; nl = b.indexOf(NL, start)) {
    out.push(b.subarray(start, nl));
    start = nl + 1;
  }
  if (start < b.length) out.push(b.subarray(start));
  return out;
}

function join(ls: Buffer[]): Buffer {
  return Buffer.concat(ls.flatMap((l) => [l, Buffer.from([NL])]));
}

function insertAt(b: Buffer, at: number, piece: Buffer | string): Buffer {
  return Buffer.concat([b.subarray(0, at), Buffer.from(piece), b.subarray(at)]);
}

/** Replaces the line's JSON value at a random path with `make(old)`; lines that are not JSON stay. */
function editJson(b: Buffer, r: Rng, make: (old: unknown, r: Rng) => string): Buffer {
  const ls = lines(b);
  if (ls.length === 0) return b;
  const i = r.int(0, ls.length - 1);
  let doc: unknown;
  try {
    doc = JSON.parse((ls[i] as Buffer).toString("utf8"));
  } catch {
    return b;
  }
  // Walk down to a random container, then swap one of its values by a placeholder.
  const PLACEHOLDER = "\u0000fuzz\u0000";
  let node = doc;
  let parent: Record<string, unknown> | unknown[] | undefined;
  let key: string | number | undefined;
  while (typeof node === "object" && node !== null && (parent === undefined || r.chance(0.6))) {
    const keys: (string | number)[] = Array.isArray(node) ? node.map((_, j) => j) : Object.keys(node);
    if (keys.length === 0) break;
    parent = node as Record<string, unknown>;
    key = r.pick(keys);
    node = (parent as Record<string | number, unknown>)[key];
  }
  if (parent === undefined || key === undefined) return b;
  const old = (parent as Record<string | number, unknown>)[key];
  (parent as Record<string | number, unknown>)[key] = PLACEHOLDER;
  let text: string;
  try {
    text = JSON.stringify(doc);
  } catch {
    return b; // nested too deeply for JSON.stringify (an earlier mutation)
  }
  ls[i] = Buffer.from(
    text.replace(JSON.stringify(PLACEHOLDER), () => make(old, r)),
    "utf8",
  );
  return join(ls);
}

const TYPE_SWAPS = [
  "null",
  "true",
  "false",
  "0",
  "-1",
  "1.5",
  '""',
  '"x"',
  "[]",
  "[1]",
  '["s3://b/k"]',
  "{}",
  '{"type":"SHA256"}',
  '{"a":{}}',
];
const HUGE_NUMBERS = [
  "1e400",
  "-1e400",
  "1e-400",
  "-0",
  "-0.0",
  "1.0",
  "9".repeat(400),
  "18446744073709551616",
  "9007199254740993",
  "NaN",
  "Infinity",
  "-Infinity",
  "4.9e-324",
];
const HOSTILE_KEYS = [
  "..",
  "../x",
  "a/../../b",
  "/etc/passwd",
  "a//b",
  "a/./b",
  "./a",
  "a/",
  "/",
  "",
  "a\u0000b",
  "\ud800",
  "a/\udfff/b",
  "C:\\x",
  "a\\..\\b",
  "....",
  ". ",
  "..\u2215x",
  "\u202e",
  "a\nb",
  "x".repeat(70_000),
];
const HOSTILE_URLS = [
  "file:///etc/passwd",
  "file://host/x",
  "file:relative",
  "s3://",
  "s3:///k",
  "http://x/y",
  "s3://b/k?versionId=",
  "s3://b/k?x=1",
  "s3://b/%ZZ",
  "s3://b/%ff%fe",
  "",
  "s3://b/k#frag",
];
const BAD_UTF8 = [
  [0xff],
  [0xc0, 0x80],
  [0xed, 0xa0, 0x80],
  [0xe2, 0x82],
  [0xf4, 0x90, 0x80, 0x80],
  [0x80],
  [0xfe, 0xff],
];
const CONTROL = [
  "\u0000",
  "\u0001",
  "\r",
  "\u001b",
  "\u007f",
  "\u2028",
  "\ufeff",
  "\\u0000",
  "\\ud800",
  "\\",
];

function nest(r: Rng): string {
  const depth = r.pick([10, 999, 1000, 1001, 5000, 100_000]);
  return r.chance(0.5)
    ? "[".repeat(depth) + "]".repeat(depth)
    : '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
}

export const MUTATIONS: Record<string, Mutation> = {
  flipBits: (b, r) => {
    const out = Buffer.from(b);
    for (let n = r.int(1, 8); n > 0 && out.length; n--) {
      const at = r.int(0, out.length - 1);
      out[at] = (out[at] as number) ^ (1 << r.int(0, 7));
    }
    return out;
  },
  truncate: (b, r) => b.subarray(0, r.int(0, b.length)),
  duplicateLine: (b, r) => {
    const ls = lines(b);
    if (!ls.length) return b;
    const i = r.int(0, ls.length - 1);
    ls.splice(r.int(0, ls.length), 0, ls[i] as Buffer);
    return join(ls);
  },
  dropLine: (b, r) => {
    const ls = lines(b);
    if (ls.length) ls.splice(r.int(0, ls.length - 1), 1);
    return join(ls);
  },
  swapLines: (b, r) => {
    const ls = lines(b);
    if (ls.length < 2) return b;
    const i = r.int(0, ls.length - 1);
    const j = r.int(0, ls.length - 1);
    [ls[i], ls[j]] = [ls[j] as Buffer, ls[i] as Buffer];
    return join(ls);
  },
  typeSwap: (b, r) => editJson(b, r, () => r.pick(TYPE_SWAPS)),
  hugeNumber: (b, r) => editJson(b, r, () => r.pick(HUGE_NUMBERS)),
  deepNesting: (b, r) => editJson(b, r, () => nest(r)),
  enormousString: (b, r) =>
    editJson(b, r, () =>
      JSON.stringify(r.pick(["x", "é", "😀", "\\"]).repeat(r.pick([1 << 16, (1 << 20) + 1]))),
    ),
  hostileKey: (b, r) => editJson(b, r, () => JSON.stringify(r.pick(HOSTILE_KEYS))),
  hostileLogicalKey: (b, r) => {
    const key = JSON.stringify(r.pick(HOSTILE_KEYS)).replace(/\$/g, "$$$$");
    return Buffer.from(
      b.toString("utf8").replace(/("logical_key":\s*)"(?:[^"\\]|\\.)*"/, `$1${key}`),
      "utf8",
    );
  },
  hostileUrl: (b, r) => {
    const url = JSON.stringify(r.pick(HOSTILE_URLS)).replace(/\$/g, "$$$$");
    return Buffer.from(
      b.toString("utf8").replace(/("physical_keys":\s*\[)"(?:[^"\\]|\\.)*"/, `$1${url}`),
      "utf8",
    );
  },
  invalidUtf8: (b, r) => insertAt(b, r.int(0, b.length), Buffer.from(r.pick(BAD_UTF8))),
  controlCharacter: (b, r) => insertAt(b, r.int(0, b.length), r.pick(CONTROL)),
  garbageLine: (b, r) => {
    const ls = lines(b);
    ls.splice(
      r.int(0, ls.length),
      0,
      r.chance(0.5)
        ? r.bytes(r.int(0, 40))
        : Buffer.from(
            r.pick([
              "",
              "{}",
              "[]",
              "null",
              "{",
              '{"logical_key": "a/"}',
              '{"logical_key": "d/", "meta": {"x": 1}}',
            ]),
          ),
    );
    return join(ls);
  },
  lineEndings: (b, r) =>
    Buffer.from(
      r.chance(0.5) ? b.toString("latin1").replaceAll("\n", "\r\n") : "\ufeff" + b.toString("utf8"),
      r.chance(0.5) ? "latin1" : "utf8",
    ),
};

const NAMES = Object.keys(MUTATIONS);

/** One to three mutations in a row; returns the bytes and the names applied (for messages). */
export function mutate(b: Buffer, r: Rng): { bytes: Buffer; applied: string[] } {
  const applied: string[] = [];
  let out = b;
  for (let n = r.int(1, 3); n > 0; n--) {
    const name = r.pick(NAMES);
    applied.push(name);
    out = (MUTATIONS[name] as Mutation)(out, r);
  }
  return { bytes: out, applied };
}
