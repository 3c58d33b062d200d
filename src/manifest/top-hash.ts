// The top hash, a package's identity: sha256 over the canonical JSON of the header and of
// each entry's {hash, logical_key, meta, size} in walk order, exactly as quilt3's
// Package._calculate_top_hash. Physical keys and directory metadata are not hashed.
import { createHash } from "node:crypto";
import type { TopHash } from "../types.js";
import type { JsonObject } from "./json-value.js";
import type { ManifestEntry } from "./manifest-entry.js";
import { canonicalJson, pythonStringAscii } from "./python-json.js";
import { CompactEntry } from "./compact-entry.js";

const EMPTY_OBJECT_JSON = "{}";

/** The canonical part of one entry; its keys are already in sorted order. */
export function entryHashPart(e: Pick<ManifestEntry, "hash" | "logicalKey" | "meta" | "size">): string {
  // A compact entry's usual hash object prints without building a Map ("type" < "value").
  const hash =
    e instanceof CompactEntry
      ? `{"type":${pythonStringAscii(e.hashType)},"value":${pythonStringAscii(e.hashValue)}}`
      : canonicalJson(e.hash);
  const meta = e.meta.size === 0 ? EMPTY_OBJECT_JSON : canonicalJson(e.meta);
  return `{"hash":${hash},"logical_key":${pythonStringAscii(e.logicalKey)},"meta":${meta},"size":${e.size}}`;
}

/**
 * The top hash computed as entries come (a manifest streamed from disk need not be held):
 * `add` them in walk order, then `digest`.
 */
export class TopHasher {
  private readonly h = createHash("sha256");
  // Parts are batched into larger updates: one native call per entry is slow on big manifests.
  private batch = "";

  constructor(header: JsonObject) {
    const head = new Map(header);
    head.delete("top_hash");
    this.h.update(canonicalJson(head), "utf8");
  }

  add(e: Pick<ManifestEntry, "hash" | "logicalKey" | "meta" | "size">): void {
    this.batch += entryHashPart(e);
    if (this.batch.length > 1 << 16) {
      this.h.update(this.batch, "utf8");
      this.batch = "";
    }
  }

  /** Entries' canonical parts already printed (`entryHashPart` of each, in walk order) as ASCII bytes. */
  addParts(parts: Uint8Array): void {
    this.h.update(this.batch, "utf8");
    this.batch = "";
    this.h.update(parts);
  }

  digest(): TopHash {
    this.h.update(this.batch, "utf8");
    return this.h.digest("hex") as TopHash;
  }
}

/** `entries` must be in walk order (Manifest keeps them so). */
export function computeTopHash(header: JsonObject, entries: Iterable<ManifestEntry>): TopHash {
  const h = new TopHasher(header);
  for (const e of entries) h.add(e);
  return h.digest();
}
