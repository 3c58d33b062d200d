// Serializes the JSON model exactly as Python's json module does, in the two dialects
// quilt3 uses: the canonical form hashed into the top hash
// (`json.dumps(obj, sort_keys=True, separators=(",", ":"))`, ASCII-escaped) and the
// manifest line written to disk (`JSONEncoder(ensure_ascii=False)`, ", " and ": ").
import { compareCodePoints } from "../code-point-order.js";
import { PyFloat, type JsonValue } from "./json-value.js";

/** Python's repr() of a float, which json.dumps uses: shortest round-trip digits. */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  // toExponential() without an argument gives the shortest digits that round-trip, like repr.
  const [mantissa, expText] = x.toExponential().split("e") as [string, string];
  const exp = Number(expText);
  const negative = mantissa.startsWith("-");
  const digits = mantissa.replace("-", "").replace(".", "");
  const sign = negative ? "-" : "";
  // Python switches to exponent notation when the decimal exponent is < -4 or >= 16.
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp).toString().padStart(2, "0");
    return `${sign}${m}e${exp < 0 ? "-" : "+"}${e}`;
  }
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
  const frac = digits.slice(exp + 1);
  return `${sign}${intPart}.${frac === "" ? "0" : frac}`;
}

function numberText(v: number | bigint | PyFloat): string {
  if (typeof v === "bigint") return v.toString();
  if (v instanceof PyFloat) return pythonFloatRepr(v.value);
  // An integral JS number is a Python int (JSON floats such as 1.0 arrive here as PyFloat).
  return Number.isInteger(v) ? BigInt(v).toString() : pythonFloatRepr(v);
}

const SHORT_ESCAPES: Record<number, string> = {
  0x22: '\\"',
  0x5c: "\\\\",
  0x08: "\\b",
  0x0c: "\\f",
  0x0a: "\\n",
  0x0d: "\\r",
  0x09: "\\t",
};

function uEscape(code: number): string {
  return "\\u" + code.toString(16).padStart(4, "0");
}

/** ensure_ascii=True: everything outside 0x20..0x7e escaped, astral chars as surrogate pairs. */
export function pythonStringAscii(s: string): string {
  // Fast path: most keys and values are plain printable ASCII without quotes or backslashes.
  if (/^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/.test(s)) return `"${s}"`;
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const short = SHORT_ESCAPES[c];
    if (short !== undefined) out += short;
    else if (c < 0x20 || c >= 0x7f)
      out += uEscape(c); // UTF-16 units are already the surrogate pair
    else out += s[i];
  }
  return out + '"';
}

/** ensure_ascii=False: only quote, backslash and control characters escaped. */
export function pythonStringUnicode(s: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  if (!/[\x00-\x1f"\\]/.test(s)) return `"${s}"`;
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const short = SHORT_ESCAPES[c];
    if (short !== undefined) out += short;
    else if (c < 0x20) out += uEscape(c);
    else out += s[i];
  }
  return out + '"';
}

/** `json.dumps(v, sort_keys=True, separators=(",", ":"))` (ensure_ascii on, allow_nan on). */
export function canonicalJson(v: JsonValue): string {
  if (v === null) return "null";
  if (v === true) return "true";
  if (v === false) return "false";
  if (typeof v === "string") return pythonStringAscii(v);
  if (typeof v === "number" || typeof v === "bigint" || v instanceof PyFloat) return numberText(v);
  if (Array.isArray(v)) return "[" + v.map(canonicalJson).join(",") + "]";
  const keys = [...v.keys()].sort(compareCodePoints);
  return (
    "{" + keys.map((k) => pythonStringAscii(k) + ":" + canonicalJson(v.get(k) as JsonValue)).join(",") + "}"
  );
}

export class NonFiniteNumberError extends Error {}

/** `JSONEncoder(ensure_ascii=False, allow_nan=False).encode(v)`, keys in insertion order. */
export function manifestJson(v: JsonValue): string {
  if (v === null) return "null";
  if (v === true) return "true";
  if (v === false) return "false";
  if (typeof v === "string") return pythonStringUnicode(v);
  if (typeof v === "number" || typeof v === "bigint" || v instanceof PyFloat) {
    const n = typeof v === "bigint" ? 0 : v instanceof PyFloat ? v.value : v;
    if (!Number.isFinite(n))
      throw new NonFiniteNumberError(
        `${n} cannot be written to a manifest (quilt3 refuses NaN and Infinity)`,
      );
    return numberText(v);
  }
  if (Array.isArray(v)) return "[" + v.map(manifestJson).join(", ") + "]";
  const parts: string[] = [];
  for (const [k, x] of v) parts.push(pythonStringUnicode(k) + ": " + manifestJson(x));
  return "{" + parts.join(", ") + "}";
}
