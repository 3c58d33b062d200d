// An immutable package manifest: the header, directory-metadata lines and file entries in
// quilt3's walk order. Built once (by the reader or a builder), then only read; a changed
// package is a new Manifest with a new top hash.
import { QuiltError } from "../errors.js";
import type { TopHash } from "../types.js";
import { isJsonObject, type JsonObject, type JsonValue } from "./json-value.js";
import { compareLogicalKeys, parentDirs } from "./logical-key.js";
import type { ManifestEntry } from "./manifest-entry.js";
import { computeTopHash } from "./top-hash.js";
import { quoted } from "../untrusted-text.js";

export type { ManifestEntry };

export interface ManifestParts {
  header: JsonObject;
  /** Directory key ("a/b/") to its metadata, from the manifest's directory-metadata lines. */
  dirMeta?: Map<string, JsonValue>;
  entries: Iterable<ManifestEntry>;
}

/** The lines a key was read from, for error messages (none when not read from a file). */
export type KeyOrigin = (key: string) => number[];

export function hashType(entry: ManifestEntry): string {
  const t = entry.hash.get("type");
  return typeof t === "string" ? t : "";
}

export function hashValue(entry: ManifestEntry): string {
  const v = entry.hash.get("value");
  return typeof v === "string" ? v : "";
}

export function userMeta(meta: JsonObject): JsonValue {
  return meta.get("user_meta") ?? new Map();
}

export class Manifest {
  readonly header: JsonObject;
  readonly dirMeta: ReadonlyMap<string, JsonValue>;
  /** File entries in walk order (lookups are binary searches over it: no per-key index to hold). */
  readonly entries: readonly ManifestEntry[];
  private cachedTopHash: TopHash | undefined;

  private constructor(header: JsonObject, dirMeta: Map<string, JsonValue>, entries: ManifestEntry[]) {
    this.header = header;
    this.dirMeta = dirMeta;
    this.entries = entries;
  }

  /**
   * Validates and orders the parts: no duplicate key, no file that is also a directory of
   * another entry or of a directory-metadata line. In walk order a key's children follow
   * it directly, so both checks compare neighbours only.
   */
  static create(parts: ManifestParts, origin: KeyOrigin = () => []): Manifest {
    const header = new Map(parts.header);
    header.delete("top_hash"); // obsolete, and quilt3 drops it on load
    const entries = [...parts.entries];
    if (!isSorted(entries)) entries.sort((a, b) => compareLogicalKeys(a.logicalKey, b.logicalKey));
    for (let i = 1; i < entries.length; i++) {
      const prev = (entries[i - 1] as ManifestEntry).logicalKey;
      const key = (entries[i] as ManifestEntry).logicalKey;
      if (key === prev) throw duplicateKey(key, origin);
      if (key.startsWith(prev) && key.charCodeAt(prev.length) === 0x2f)
        throw fileAndDirectory(prev, prev + "/", origin);
    }
    const dirMeta = new Map([...(parts.dirMeta ?? [])].sort(([a], [b]) => compareLogicalKeys(a, b)));
    const m = new Manifest(header, dirMeta, entries);
    for (const d of dirMeta.keys()) {
      for (const dir of [...parentDirs(d.slice(0, -1) + "/x").map((p) => p.slice(0, -1))]) {
        if (m.has(dir)) throw fileAndDirectory(dir, d, origin);
      }
    }
    return m;
  }

  get topHash(): TopHash {
    this.cachedTopHash ??= computeTopHash(this.header, this.entries);
    return this.cachedTopHash;
  }

  get size(): number {
    return this.entries.length;
  }

  /** Index of `key` in `entries`, or -1. */
  indexOf(key: string): number {
    let lo = 0;
    let hi = this.entries.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareLogicalKeys((this.entries[mid] as ManifestEntry).logicalKey, key);
      if (c === 0) return mid;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /**
   * The entries under a directory prefix ("a/b/"; "" for all) as the index range
   * [start, end): in walk order they are contiguous, so a binary search finds the first
   * and nothing outside the range is looked at.
   */
  prefixRange(prefix: string): [number, number] {
    if (prefix === "") return [0, this.entries.length];
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareLogicalKeys((this.entries[mid] as ManifestEntry).logicalKey, prefix) < 0) lo = mid + 1;
      else hi = mid;
    }
    let end = lo;
    while (end < this.entries.length && (this.entries[end] as ManifestEntry).logicalKey.startsWith(prefix))
      end++;
    return [lo, end];
  }

  get(key: string): ManifestEntry | undefined {
    const i = this.indexOf(key);
    return i < 0 ? undefined : this.entries[i];
  }

  has(key: string): boolean {
    return this.indexOf(key) >= 0;
  }

  get message(): string | null {
    const m = this.header.get("message");
    return typeof m === "string" ? m : null;
  }

  get userMeta(): JsonValue {
    return userMeta(this.header);
  }

  totalBytes(): number {
    let n = 0;
    for (const e of this.entries) n += e.size;
    return n;
  }
}

function isSorted(entries: ManifestEntry[]): boolean {
  for (let i = 1; i < entries.length; i++) {
    if (
      compareLogicalKeys(
        (entries[i - 1] as ManifestEntry).logicalKey,
        (entries[i] as ManifestEntry).logicalKey,
      ) > 0
    )
      return false;
  }
  return true;
}

export function duplicateKey(key: string, origin: KeyOrigin): QuiltError {
  const [first, second] = origin(key);
  const where =
    second !== undefined
      ? `Manifest line ${second}: duplicate logical key ${quoted(key)} (first on line ${first})`
      : `Duplicate logical key ${quoted(key)}`;
  return new QuiltError("EBADMANIFEST", where);
}

export function fileAndDirectory(file: string, dir: string, origin: KeyOrigin): QuiltError {
  const [line] = origin(file);
  return new QuiltError(
    "EBADMANIFEST",
    `${line !== undefined ? `Manifest line ${line}: ` : ""}Logical key ${quoted(file)} is a file and also a directory (${quoted(dir)})`,
    {
      hint: "a path cannot be both a file and a directory in one package",
    },
  );
}

export function assertObject(v: JsonValue | undefined, what: string): JsonObject {
  if (!isJsonObject(v)) throw new QuiltError("EBADMANIFEST", `${what} must be a JSON object`);
  return v;
}
