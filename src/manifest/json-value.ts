// The JSON model of manifest lines. quilt3 parses manifests with Python's json module, so
// to hash and rewrite a manifest exactly we must keep what Python keeps and JavaScript
// loses: integers beyond 2^53 (bigint), floats with an integral value such as `1.0`
// (PyFloat, because `1` and `1.0` hash differently), and object key insertion order even
// for integer-like keys (Map, because plain objects move "10" before "b").

/** A Python float whose value JavaScript would print as an integer: 1.0, 1e+16, -0.0, inf. */
export class PyFloat {
  constructor(readonly value: number) {}
}

export type JsonObject = Map<string, JsonValue>;
export type JsonValue = null | boolean | string | number | bigint | PyFloat | JsonValue[] | JsonObject;

export function isJsonObject(v: JsonValue | undefined): v is JsonObject {
  return v instanceof Map;
}

/** Python truthiness, which decides whether quilt3 writes a directory-metadata line. */
export function isPythonTruthy(v: JsonValue): boolean {
  if (v === null || v === false || v === "" || v === 0 || v === 0n) return false;
  if (v instanceof PyFloat) return v.value !== 0;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof Map) return v.size > 0;
  return true;
}

/** A JSON integer text to the value Python's json module produces for it. */
export function intFromText(text: string): number | bigint {
  const n = Number(text);
  if (Number.isSafeInteger(n)) return n === 0 ? 0 : n; // Python has no -0 integer
  return BigInt(text);
}

/** A JSON float text (has `.`, `e` or `E`) to the value Python's json module produces. */
export function floatFromText(text: string): number | PyFloat {
  const n = Number(text);
  return Number.isInteger(n) || Object.is(n, -0) || !Number.isFinite(n) ? new PyFloat(n) : n;
}

/** Plain JavaScript data for API users: Map to object, PyFloat to number; bigint stays. */
export type PlainJson =
  null | boolean | string | number | bigint | PlainJson[] | { [key: string]: PlainJson };

export function toPlain(v: JsonValue): PlainJson {
  if (v instanceof PyFloat) return v.value;
  if (Array.isArray(v)) return v.map(toPlain);
  if (v instanceof Map) {
    const out: { [key: string]: PlainJson } = {};
    for (const [k, x] of v) {
      // defineProperty, because assigning "__proto__" would replace the prototype instead.
      Object.defineProperty(out, k, {
        value: toPlain(x),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return v;
}

/** User data (a parsed JSON-like value) to the model; refuses what JSON cannot hold. */
export function fromPlain(v: unknown, path = "$"): JsonValue {
  if (v === null || typeof v === "boolean" || typeof v === "string" || typeof v === "bigint") return v;
  if (typeof v === "number") {
    if (!Number.isFinite(v))
      throw new TypeError(`${path}: ${v} cannot be stored in a manifest (JSON has no NaN or Infinity)`);
    return Object.is(v, -0) ? 0 : v;
  }
  if (v instanceof PyFloat) return v;
  if (Array.isArray(v)) return v.map((x, i) => fromPlain(x, `${path}[${i}]`));
  if (v instanceof Map) {
    const out: JsonObject = new Map();
    for (const [k, x] of v) {
      if (typeof k !== "string") throw new TypeError(`${path}: object keys must be strings`);
      out.set(k, fromPlain(x, `${path}.${k}`));
    }
    return out;
  }
  if (typeof v === "object" && v !== undefined) {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      throw new TypeError(
        `${path}: a ${proto?.constructor?.name ?? "non-plain object"} cannot be stored as JSON`,
      );
    }
    const out: JsonObject = new Map();
    for (const [k, x] of Object.entries(v)) out.set(k, fromPlain(x, `${path}.${k}`));
    return out;
  }
  throw new TypeError(`${path}: a ${typeof v} cannot be stored as JSON`);
}

/** Deep equality in Python's sense (1 == 1.0 is true there, but not for hashing; we compare exactly). */
export function jsonEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (a instanceof PyFloat && b instanceof PyFloat) return Object.is(a.value, b.value);
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i] as JsonValue));
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, x] of a) {
      const y = b.get(k);
      if (y === undefined || !jsonEqual(x, y)) return false;
    }
    return true;
  }
  return false;
}
