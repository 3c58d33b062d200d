// An immutable package manifest: the header, directory-metadata lines and file entries in
// quilt3's walk order. Built once (by the reader or a builder), then only read; a changed
// package is a new Manifest with a new top hash.
import { QuiltError } from "../errors.js";
import type { LogicalKey, TopHash } from "../types.js";
import { isJsonObject, type JsonObject, type JsonValue } from "./json-value.js";
import { compareLogicalKeys, parentDirs } from "./logical-key.js";
import type { PhysicalKey } from "./physical-key.js";
import { computeTopHash } from "./top-hash.js";

export interface ManifestEntry {
  readonly logicalKey: LogicalKey;
  readonly physicalKey: PhysicalKey;
  readonly size: number;
  /** The whole hash object as stored ({"type", "value"} and any extra keys, which are hashed). */
  readonly hash: JsonObject;
  /** The entry's whole meta object; user metadata lives under "user_meta". */
  readonly meta: JsonObject;
}

export interface ManifestParts {
  header: JsonObject;
  /** Directory key ("a/b/") to its metadata, from the manifest's directory-metadata lines. */
  dirMeta?: Map<string, JsonValue>;
  entries: Iterable<ManifestEntry>;
}

/** Where each key came from, for error messages (a line number when read from a file). */
export type KeyOrigin = (key: string) => string;

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
  /** File entries in walk order. */
  readonly entries: readonly ManifestEntry[];
  private readonly byKey: Map<string, ManifestEntry>;
  private cachedTopHash: TopHash | undefined;

  private constructor(header: JsonObject, dirMeta: Map<string, JsonValue>, entries: ManifestEntry[], byKey: Map<string, ManifestEntry>) {
    this.header = header;
    this.dirMeta = dirMeta;
    this.entries = entries;
    this.byKey = byKey;
  }

  /**
   * Validates and orders the parts: no duplicate key, no file that is also a directory of
   * another entry or of a directory-metadata line.
   */
  static create(parts: ManifestParts, origin: KeyOrigin = () => ""): Manifest {
    const header = new Map(parts.header);
    header.delete("top_hash"); // obsolete, and quilt3 drops it on load
    const byKey = new Map<string, ManifestEntry>();
    for (const e of parts.entries) {
      if (byKey.has(e.logicalKey)) {
        throw new QuiltError("EBADMANIFEST", `${origin(e.logicalKey)}Duplicate logical key ${JSON.stringify(e.logicalKey)}`);
      }
      byKey.set(e.logicalKey, e);
    }
    const dirMeta = new Map(parts.dirMeta ?? []);
    const dirs = new Set<string>(dirMeta.keys());
    for (const key of byKey.keys()) for (const d of parentDirs(key)) dirs.add(d);
    for (const d of dirs) {
      const asFile = d.slice(0, -1);
      if (byKey.has(asFile)) {
        throw new QuiltError("EBADMANIFEST", `${origin(asFile)}Logical key ${JSON.stringify(asFile)} is a file and also a directory (${JSON.stringify(d)})`, {
          hint: "a path cannot be both a file and a directory in one package",
        });
      }
    }
    const entries = [...byKey.values()].sort((a, b) => compareLogicalKeys(a.logicalKey, b.logicalKey));
    const sortedDirMeta = new Map([...dirMeta].sort(([a], [b]) => compareLogicalKeys(a, b)));
    return new Manifest(header, sortedDirMeta, entries, byKey);
  }

  get topHash(): TopHash {
    this.cachedTopHash ??= computeTopHash(this.header, this.entries);
    return this.cachedTopHash;
  }

  get size(): number {
    return this.entries.length;
  }

  get(key: string): ManifestEntry | undefined {
    return this.byKey.get(key);
  }

  has(key: string): boolean {
    return this.byKey.has(key);
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

export function assertObject(v: JsonValue | undefined, what: string): JsonObject {
  if (!isJsonObject(v)) throw new QuiltError("EBADMANIFEST", `${what} must be a JSON object`);
  return v;
}
