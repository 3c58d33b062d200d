// Listing a prefix with each key's current version (ListObjectVersions), the way quilt3's
// set_dir pins the objects of an S3 prefix: one request per 1,000 versions instead of a
// HEAD per object. Old versions and delete markers are skipped; a bucket that was never
// versioned reports the version "null", which pins nothing and is returned as null.
import type { ListObjectVersionsCommandOutput } from "@aws-sdk/client-s3";
import type { QuiltError } from "../errors.js";
import type { ListEntry } from "./object-store.js";
import { errorNameOf, httpStatusOf } from "./retry.js";

export type VersionsPage = (marker: {
  keyMarker?: string;
  versionIdMarker?: string;
}) => Promise<ListObjectVersionsCommandOutput>;

/** Objects (not prefixes) under the prefix in key order, each with its current versionId. */
export async function* latestVersions(page: VersionsPage): AsyncGenerator<ListEntry & { kind: "object" }> {
  let marker: { keyMarker?: string; versionIdMarker?: string } = {};
  for (;;) {
    const res = await page(marker);
    for (const v of res.Versions ?? []) {
      if (v.Key === undefined || v.IsLatest !== true) continue;
      const versionId = v.VersionId === undefined || v.VersionId === "null" ? null : v.VersionId;
      yield {
        kind: "object",
        key: v.Key,
        size: v.Size ?? 0,
        etag: v.ETag,
        lastModified: v.LastModified,
        versionId,
      };
    }
    if (res.IsTruncated !== true) return;
    marker = {
      ...(res.NextKeyMarker !== undefined && { keyMarker: res.NextKeyMarker }),
      ...(res.NextVersionIdMarker !== undefined && { versionIdMarker: res.NextVersionIdMarker }),
    };
  }
}

/**
 * What a refused ListObjectVersions means: "unversioned" from a server that does not
 * implement it at all (NotImplemented, or MethodNotAllowed as s3rver answers; S3 itself
 * answers neither to this request), so no object has a
 * version; "unknown" when it is refused otherwise (no s3:ListBucketVersions permission), so
 * versions must be asked for object by object.
 */
export function versionsRefusal(err: QuiltError): "unversioned" | "unknown" {
  const cause = err.cause;
  const name = errorNameOf(cause);
  const status = httpStatusOf(cause);
  return name === "NotImplemented" || name === "MethodNotAllowed" || status === 501 || status === 405
    ? "unversioned"
    : "unknown";
}
