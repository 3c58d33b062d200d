// Parses one JSON text into the model of json-value.ts, accepting exactly what Python's
// json.loads accepts (including NaN and Infinity) and keeping what JSON.parse would lose.
// Manifests can hold millions of lines, so a line without risky tokens (floats, integers
// of 16+ digits, integer-like object keys, NaN/Infinity) takes the native JSON.parse path
// and only the rest goes through the exact hand-written parser below.
import { floatFromText, intFromText, PyFloat, type JsonObject, type JsonValue } from "./json-value.js";

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly column: number,
  ) {
    super(`${message} at column ${column}`);
    this.name = "JsonSyntaxError";
  }
}

/**
 * Deepest nesting of arrays and objects accepted. Python's json module stops at its
 * recursion limit (1000 frames, so a little less than 1000 levels): quilt3 cannot read a
 * deeper manifest, and every walk of the model here recurses, so deeper input is refused
 * as malformed instead of overflowing the stack.
 */
export const MAX_JSON_DEPTH = 1000;

class TooDeep extends Error {}

export function parseJson(text: string): JsonValue {
  if (!needsExactParser(text)) {
    try {
      return fromNative(JSON.parse(text));
    } catch {
      // Fall through: the exact parser produces the error message with a column (for
      // invalid JSON and for nesting beyond MAX_JSON_DEPTH alike).
      return new ExactParser(text).parseDocument();
    }
  }
  return new ExactParser(text).parseDocument();
}

/**
 * The plain JavaScript value of a line that JSON.parse reads exactly (no risky tokens), or
 * undefined when the line needs the exact parser (or is not valid JSON). Lets hot loops
 * read fields without building the Map model for every object.
 */
export function parseNativeIfExact(text: string): unknown {
  if (needsExactParser(text)) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * The model of a value JSON.parse produced from a line without risky tokens, or undefined
 * when it is nested deeper than MAX_JSON_DEPTH (parseJson then words the error).
 */
export function modelFromNative(v: unknown): JsonValue | undefined {
  try {
    return fromNative(v);
  } catch (err) {
    if (err instanceof TooDeep) return undefined;
    throw err;
  }
}

// Numbers whose text JSON.parse would not keep: floats, long integers, -0, NaN/Infinity.
const RISKY_OUTSIDE_STRINGS = /\d[.eE]|\d{16}|-0(?![\d.eE])|NaN|Infinity/;
// Keys that a JavaScript object would move to the front (array indices).
const INDEX_LIKE = /^(?:0|[1-9]\d{0,9})$/;

/** Scans structure (outside strings) for tokens that the native parser would not keep. */
function needsExactParser(text: string): boolean {
  let pos = 0;
  for (;;) {
    const q = text.indexOf('"', pos);
    const structural = q < 0 ? text.slice(pos) : text.slice(pos, q);
    if (RISKY_OUTSIDE_STRINGS.test(structural)) return true;
    if (q < 0) return false;
    const end = closingQuote(text, q + 1);
    if (end < 0) return false; // unterminated: let the native parser report it
    // An escaped key (rare: quilt3 writes raw UTF-8) could spell digits, so it goes the exact way too.
    const raw = text.slice(q + 1, end);
    if (
      (raw.includes("\\") || (raw.length <= 10 && INDEX_LIKE.test(raw))) &&
      nextNonSpace(text, end + 1) === ":"
    )
      return true;
    pos = end + 1;
  }
}

function closingQuote(text: string, from: number): number {
  for (let i = text.indexOf('"', from); i >= 0; i = text.indexOf('"', i + 1)) {
    let backslashes = 0;
    for (let j = i - 1; j >= from && text.charCodeAt(j) === 0x5c; j--) backslashes++;
    if (backslashes % 2 === 0) return i;
  }
  return -1;
}

function nextNonSpace(text: string, from: number): string {
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c !== " " && c !== "\t" && c !== "\n" && c !== "\r") return c as string;
  }
  return "";
}

function fromNative(v: unknown, depth = 0): JsonValue {
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") return Object.is(v, -0) ? 0 : v;
  if (depth >= MAX_JSON_DEPTH) throw new TooDeep();
  if (Array.isArray(v)) return v.map((x) => fromNative(x, depth + 1));
  const out: JsonObject = new Map();
  for (const k of Object.keys(v as object))
    out.set(k, fromNative((v as Record<string, unknown>)[k], depth + 1));
  return out;
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
const NUMBER_RE = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/y;
const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

class ExactParser {
  private pos = 0;
  private depth = 0;
  constructor(private readonly s: string) {}

  parseDocument(): JsonValue {
    this.skipWs();
    const v = this.value();
    this.skipWs();
    if (this.pos !== this.s.length) this.fail("Extra data");
    return v;
  }

  private fail(msg: string): never {
    throw new JsonSyntaxError(msg, this.pos + 1);
  }

  private skipWs(): void {
    while (this.pos < this.s.length && WS.has(this.s.charCodeAt(this.pos))) this.pos++;
  }

  private value(): JsonValue {
    const c = this.s[this.pos];
    switch (c) {
      case "{":
        return this.object();
      case "[":
        return this.array();
      case '"':
        return this.string();
      case "t":
        return this.literal("true", true);
      case "f":
        return this.literal("false", false);
      case "n":
        return this.literal("null", null);
      case "N":
        return this.literal("NaN", new PyFloat(NaN));
      case "I":
        return this.literal("Infinity", new PyFloat(Infinity));
      default:
        if (c === "-" && this.s.startsWith("-Infinity", this.pos))
          return this.literal("-Infinity", new PyFloat(-Infinity));
        return this.number();
    }
  }

  private literal<T extends JsonValue>(word: string, v: T): T {
    if (!this.s.startsWith(word, this.pos)) this.fail("Expecting value");
    this.pos += word.length;
    return v;
  }

  private number(): number | bigint | PyFloat {
    NUMBER_RE.lastIndex = this.pos;
    const m = NUMBER_RE.exec(this.s);
    if (!m) this.fail("Expecting value");
    this.pos += m[0].length;
    return m[1] !== undefined || m[2] !== undefined ? floatFromText(m[0]) : intFromText(m[0]);
  }

  private string(): string {
    this.pos++; // opening quote
    let out = "";
    let chunkStart = this.pos;
    for (;;) {
      if (this.pos >= this.s.length) this.fail("Unterminated string");
      const code = this.s.charCodeAt(this.pos);
      if (code === 0x22) break;
      if (code < 0x20) this.fail("Invalid control character in string");
      if (code !== 0x5c) {
        this.pos++;
        continue;
      }
      out += this.s.slice(chunkStart, this.pos);
      const e = this.s[this.pos + 1];
      if (e === "u") {
        const hex = this.s.slice(this.pos + 2, this.pos + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail("Invalid \\uXXXX escape");
        out += String.fromCharCode(parseInt(hex, 16));
        this.pos += 6;
      } else if (e !== undefined && e in SIMPLE_ESCAPES) {
        out += SIMPLE_ESCAPES[e];
        this.pos += 2;
      } else {
        this.fail("Invalid \\escape");
      }
      chunkStart = this.pos;
    }
    out += this.s.slice(chunkStart, this.pos);
    this.pos++; // closing quote
    return out;
  }

  /** Counts one more level of nesting (a failure abandons the parser, so only success counts back). */
  private enter(): void {
    if (++this.depth > MAX_JSON_DEPTH) this.fail(`Nested deeper than ${MAX_JSON_DEPTH} levels`);
  }

  private array(): JsonValue[] {
    this.enter();
    const out = this.arrayBody();
    this.depth--;
    return out;
  }

  private arrayBody(): JsonValue[] {
    this.pos++;
    const out: JsonValue[] = [];
    this.skipWs();
    if (this.s[this.pos] === "]") {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWs();
      out.push(this.value());
      this.skipWs();
      const c = this.s[this.pos++];
      if (c === "]") return out;
      if (c !== ",") {
        this.pos--;
        this.fail("Expecting ',' delimiter");
      }
    }
  }

  private object(): JsonObject {
    this.enter();
    const out = this.objectBody();
    this.depth--;
    return out;
  }

  private objectBody(): JsonObject {
    this.pos++;
    const out: JsonObject = new Map();
    this.skipWs();
    if (this.s[this.pos] === "}") {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWs();
      if (this.s[this.pos] !== '"') this.fail("Expecting property name enclosed in double quotes");
      const key = this.string();
      this.skipWs();
      if (this.s[this.pos] !== ":") this.fail("Expecting ':' delimiter");
      this.pos++;
      this.skipWs();
      // Python keeps the last value of a repeated key at the first key's position, as Map.set does.
      out.set(key, this.value());
      this.skipWs();
      const c = this.s[this.pos++];
      if (c === "}") return out;
      if (c !== ",") {
        this.pos--;
        this.fail("Expecting ',' delimiter");
      }
    }
  }
}
