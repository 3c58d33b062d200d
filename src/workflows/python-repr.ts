// Python's repr() of JSON data, because quilt3's workflow errors are jsonschema's messages
// ("3 is not of type 'string'", "'owner' is a required property") and ours must read the
// same: None/True/False, 1.0 kept apart from 1, single-quoted strings with Python's escapes,
// dicts in insertion order.
import { PyFloat, type JsonValue } from "../manifest/json-value.js";
import { pythonFloatRepr } from "../manifest/python-json.js";

// What str.isprintable() calls not printable: controls, format characters, surrogates,
// private use, unassigned, and separators other than the ASCII space.
const NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

function escapeCodePoint(cp: number): string {
  if (cp === 0x09) return "\\t";
  if (cp === 0x0a) return "\\n";
  if (cp === 0x0d) return "\\r";
  if (cp < 0x100) return "\\x" + cp.toString(16).padStart(2, "0");
  if (cp < 0x10000) return "\\u" + cp.toString(16).padStart(4, "0");
  return "\\U" + cp.toString(16).padStart(8, "0");
}

/** repr(str): single quotes unless the text holds ' and no ", as CPython chooses. */
export function pythonStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if (ch === "\\" || ch === quote) out += "\\" + ch;
    else if (ch !== " " && NOT_PRINTABLE.test(ch)) out += escapeCodePoint(cp);
    else out += ch;
  }
  return out + quote;
}

/** repr() of what Python's json module would have parsed: the model, or plain JavaScript data. */
export function pythonRepr(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "string") return pythonStrRepr(v);
  if (typeof v === "bigint") return v.toString();
  if (v instanceof PyFloat) return pythonFloatRepr(v.value);
  if (typeof v === "number") return Number.isInteger(v) ? BigInt(v).toString() : pythonFloatRepr(v);
  if (Array.isArray(v)) return "[" + v.map(pythonRepr).join(", ") + "]";
  const pairs = v instanceof Map ? [...(v as Map<string, JsonValue>)] : Object.entries(v as object);
  return "{" + pairs.map(([k, x]) => `${pythonStrRepr(k)}: ${pythonRepr(x)}`).join(", ") + "}";
}
