// A manifest entry as loaded from a file, kept small because a mount may hold a million of
// them: the physical key stays the URL string it was written as (parsed when asked for),
// the usual {"type","value"} hash stays two strings, and an empty meta is one shared
// object. It answers to the same ManifestEntry interface as any other entry.
import { PhysicalKey } from "./physical-key.js";
import type { JsonObject, JsonValue } from "./json-value.js";
import type { ManifestEntry } from "./manifest-entry.js";
import type { LogicalKey } from "../types.js";

/** A Map that refuses changes: shared instances (the empty meta) must never be mutated. */
export class FrozenMap<K, V> extends Map<K, V> {
  private sealed = false;

  constructor(entries?: Iterable<readonly [K, V]>) {
    super(entries);
    this.sealed = true;
  }

  override set(key: K, value: V): this {
    if (this.sealed)
      throw new TypeError("this metadata object is shared and read-only; copy it first (new Map(meta))");
    return super.set(key, value);
  }

  override delete(): boolean {
    throw new TypeError("this metadata object is shared and read-only; copy it first (new Map(meta))");
  }

  override clear(): void {
    throw new TypeError("this metadata object is shared and read-only; copy it first (new Map(meta))");
  }
}

/** The one empty meta object every entry without metadata shares. */
export const EMPTY_META: JsonObject = new FrozenMap<string, JsonValue>();

/**
 * URLs already in the form quilt3 writes (path quoted with "/" safe, versionId
 * form-encoded): valid without a full parse at load time.
 */
const NORMAL_S3_URL = /^s3:\/\/[A-Za-z0-9.\-_]+\/[A-Za-z0-9_.\-~/%]*(?:\?versionId=[A-Za-z0-9_.\-~%+]+)?$/;

export function isNormalS3Url(url: string): boolean {
  return NORMAL_S3_URL.test(url) && !/%(?![0-9A-F]{2})/.test(url);
}

export class CompactEntry implements ManifestEntry {
  constructor(
    readonly logicalKey: LogicalKey,
    /** The physical key as a URL string in quilt3's normal form. */
    readonly url: string,
    readonly size: number,
    readonly hashType: string,
    readonly hashValue: string,
    readonly meta: JsonObject,
  ) {}

  get physicalKey(): PhysicalKey {
    return PhysicalKey.fromUrl(this.url);
  }

  get hash(): JsonObject {
    return new Map<string, JsonValue>([
      ["type", this.hashType],
      ["value", this.hashValue],
    ]);
  }
}
