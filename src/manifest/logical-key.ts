// Logical keys: the `/`-separated paths inside a package. Validated once on the way in so
// that nothing later (install, force-match, the FUSE tree) can be led outside its
// directory by a key, and ordered the way quilt3 walks its tree, which the top hash
// depends on.
import { QuiltError } from "../errors.js";
import type { LogicalKey } from "../types.js";
import { compareCodePoints } from "../code-point-order.js";
import { quoted } from "../untrusted-text.js";

export const LOGICAL_KEY_RULES =
  "logical keys are /-separated names of valid Unicode; no empty, '.' or '..' component, no leading or trailing '/', no NUL";

// Keys valid at a glance, as most are: components of one or more characters, none starting
// with "." (so none is "." or ".."), no NUL, no surrogate (so no lone one); the rest are
// checked one rule at a time below, which a million-entry manifest's keys took 0.3 s for.
const PLAIN_COMPONENT = "[^/\\0.\\ud800-\\udfff][^/\\0\\ud800-\\udfff]*";
const PLAIN_KEY = new RegExp(`^${PLAIN_COMPONENT}(?:/${PLAIN_COMPONENT})*$`);

/** Why a key is refused, or null when it is valid. */
export function logicalKeyProblem(key: string): string | null {
  if (PLAIN_KEY.test(key)) return null;
  if (key === "") return "it is empty";
  if (key.includes("\0")) return "it contains a NUL character";
  // A lone surrogate (a "\ud800" escape) has no UTF-8 form: every file name would turn it
  // into U+FFFD, so two such keys could land on one file (and quilt3 cannot write it).
  if (!key.isWellFormed()) return "it is not valid Unicode (a lone surrogate)";
  if (key.startsWith("/")) return "it starts with '/'";
  if (key.endsWith("/")) return "it ends with '/'";
  for (const part of key.split("/")) {
    if (part === "") return "it has an empty component ('//')";
    if (part === "." || part === "..") return `it has a '${part}' component`;
  }
  return null;
}

export function parseLogicalKey(key: string, where = ""): LogicalKey {
  const problem = logicalKeyProblem(key);
  if (problem !== null) {
    throw new QuiltError("EBADKEY", `${where}Invalid logical key ${quoted(key)}: ${problem}`, {
      hint: LOGICAL_KEY_RULES,
    });
  }
  return key as LogicalKey;
}

/** A directory prefix ("a/b/") or "" for the root; refuses anything that is not a clean prefix. */
export function parseLogicalPrefix(prefix: string): string {
  if (prefix === "" || prefix === "/") return "";
  const trimmed = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  parseLogicalKey(trimmed);
  return trimmed + "/";
}

/**
 * quilt3's walk order: children sorted by name at each directory level. Comparing whole
 * keys with "/" ranked below every other character gives the same order, because no
 * component is empty ("data/a.csv" before "data-b.bin", unlike a flat string sort).
 */
export function compareLogicalKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x === 0x2f) return -1;
    if (y === 0x2f) return 1;
    return compareCodePoints(a.slice(i, i + 2), b.slice(i, i + 2));
  }
  return a.length - b.length;
}

export function parentDirs(key: string): string[] {
  const parts = key.split("/");
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join("/") + "/");
  return out;
}
