// Branded strings, parsed once at the edge so that a logical key, a physical key and a
// top hash can never be passed where another is expected.

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** A validated `/`-separated path inside a package (see manifest/logical-key.ts). */
export type LogicalKey = Brand<string, "LogicalKey">;
/** A 64-character lowercase hex sha256 naming a manifest. */
export type TopHash = Brand<string, "TopHash">;
/** A `s3://bucket/key?versionId=v` or `file:///abs/path` URL string. */
export type PhysicalKeyUrl = Brand<string, "PhysicalKeyUrl">;

export const TOP_HASH_RE = /^[0-9a-f]{64}$/;

export function isTopHash(s: string): s is TopHash {
  return TOP_HASH_RE.test(s);
}
