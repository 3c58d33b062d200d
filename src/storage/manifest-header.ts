// A version's push message, from the first line (the header) of its manifest alone: `quilt
// log` shows one per version, and fetching every whole manifest for it (a million-entry one
// is hundreds of MB) would make a log cost more than the versions it lists. The top hash
// covers the whole file, so a header read alone is not verified: the message is text to
// show, never used to decide anything (docs/RELIABILITY.md).
import { isQuiltError } from "../errors.js";
import { parseJson } from "../manifest/json-parse.js";
import type { Registry } from "./registry.js";
import type { Resolved } from "./registry-pointers.js";
import { layoutsFrom, manifestKey } from "./registry-layout.js";

/** The first read; a header with large package metadata is read on in growing ranges. */
const FIRST_READ_BYTES = 64 * 1024;
/** A header longer than this is not read for a message. */
const MAX_HEADER_BYTES = 16 * 1024 * 1024;

/** The header's `message`, or null when it has none (or the manifest or its header cannot be read). */
export async function readVersionMessage(registry: Registry, r: Resolved): Promise<string | null> {
  const layouts = layoutsFrom(r.layout);
  for (const layout of layouts) {
    const line = await readFirstLine(registry, manifestKey(layout, r.name, r.topHash));
    if (line === "missing") continue;
    if (line === undefined) return null;
    try {
      const header = parseJson(line);
      const message = header instanceof Map ? header.get("message") : undefined;
      return typeof message === "string" ? message : null;
    } catch {
      return null;
    }
  }
  return null;
}

async function readFirstLine(registry: Registry, key: string): Promise<string | "missing" | undefined> {
  for (let n = FIRST_READ_BYTES; n <= MAX_HEADER_BYTES; n *= 4) {
    let bytes: Buffer;
    try {
      bytes = await registry.store.get({ bucket: registry.bucket, key }, { range: { start: 0, end: n } });
    } catch (err) {
      if (isQuiltError(err, "ENOTFOUND")) return "missing";
      throw err;
    }
    const eol = bytes.indexOf(0x0a);
    if (eol >= 0) return bytes.subarray(0, eol).toString("utf8");
    if (bytes.length < n) return bytes.toString("utf8");
  }
  return undefined;
}
