// Manifest.prefixRange finds the entries under a directory by binary search: the same
// entries, in the same order, as filtering every key, for keys whose characters sort on
// both sides of "/" (".", "-", "0", "é", an astral character) and prefixes that are
// missing, shared with a file name, or the whole package.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromPlain, type JsonObject } from "../../src/manifest/json-value.js";
import { Manifest, type ManifestEntry } from "../../src/manifest/manifest.js";
import { PhysicalKey } from "../../src/manifest/physical-key.js";
import { QuiltError } from "../../src/errors.js";
import type { LogicalKey } from "../../src/types.js";

const HASH = fromPlain({ type: "SHA256", value: "00" }) as JsonObject;

function manifestOf(keys: string[]): Manifest | undefined {
  const entries: ManifestEntry[] = [...new Set(keys)].map((k) => ({
    logicalKey: k as LogicalKey,
    physicalKey: PhysicalKey.s3("b", k, null),
    size: 0,
    hash: HASH,
    meta: new Map(),
  }));
  try {
    return Manifest.create({ header: new Map(), entries });
  } catch (err) {
    if (err instanceof QuiltError) return undefined; // a key that is a file and a directory
    throw err;
  }
}

const segment = fc.stringMatching(/^[a.\-0é😀]{1,3}$/u).filter((s) => s !== "." && s !== "..");
const key = fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => parts.join("/"));

describe("Manifest.prefixRange", () => {
  it("is the filter of keys under the prefix", () => {
    fc.assert(
      fc.property(
        fc.array(key, { minLength: 1, maxLength: 60 }),
        fc.array(segment, { maxLength: 3 }),
        (keys, extra) => {
          const m = manifestOf(keys);
          if (!m) return;
          const prefixes = new Set<string>(["", extra.join("/") + "/"]);
          for (const k of m.entries.map((e) => e.logicalKey)) {
            const parts = k.split("/");
            for (let i = 1; i <= parts.length; i++) prefixes.add(parts.slice(0, i).join("/") + "/");
          }
          for (const p of prefixes) {
            const [start, end] = m.prefixRange(p);
            expect(m.entries.slice(start, end), p).toEqual(
              m.entries.filter((e) => e.logicalKey.startsWith(p)),
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
