// Text that came from outside (a logical key, a link target, a manifest value, a path
// built from them) rendered for an error message: control characters would let a
// manifest rewrite the user's terminal (colours, cursor moves, a fake prompt) and a 10 KB
// key would bury the message, so control and direction-override characters are escaped
// the way JSON escapes them and the text is cut to a bound that still names the thing.

/** Characters shown to a user after this bound are replaced by a note of how many were cut. */
export const UNTRUSTED_TEXT_MAX_CHARS = 200;

// C0 and C1 controls, DEL, and the Unicode bidirectional overrides and isolates (which
// reorder what follows on the screen); line and paragraph separators break lines.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_IN_QUOTES = new RegExp(`[\\\\"]|${UNSAFE.source}`, "g");
const SHORT_ESCAPES: Record<string, string> = {
  "\\": "\\\\",
  '"': '\\"',
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\b": "\\b",
  "\f": "\\f",
};

function escapeChar(c: string): string {
  return SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/** `text` with control characters escaped and at most about `max` characters kept. */
export function untrusted(text: string, max = UNTRUSTED_TEXT_MAX_CHARS): string {
  return render(text, max, UNSAFE);
}

/**
 * A string as `untrusted(text)` in double quotes, with quotes and backslashes escaped as JSON
 * does; any other value as its (bounded) JSON text.
 */
export function quoted(value: unknown, max = UNTRUSTED_TEXT_MAX_CHARS): string {
  if (typeof value === "string") return `"${render(value, max, UNSAFE_IN_QUOTES)}"`;
  return untrusted(String(JSON.stringify(value)), max);
}

// What `forTerminal` escapes: everything UNSAFE escapes but the newline and the tab, which
// human output uses to lay out its own lines and columns.
const UNSAFE_ON_TERMINAL =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Human output (keys listed by `ls`, `diff`, `verify`) with control characters escaped but
 * nothing cut: a listing must name every key whole, and must not let one recolour or
 * rewrite the user's terminal. `--json` output keeps the exact text.
 */
export function forTerminal(text: string): string {
  return text.replace(UNSAFE_ON_TERMINAL, escapeChar);
}

function render(text: string, max: number, unsafe: RegExp): string {
  const chars = Array.from(text); // code points, so a cut never splits a surrogate pair
  const cut = chars.length > max;
  const escaped = (cut ? chars.slice(0, max).join("") : text).replace(unsafe, escapeChar);
  return cut ? `${escaped}… (${chars.length - max} more characters)` : escaped;
}
