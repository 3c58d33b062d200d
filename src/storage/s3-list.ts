// Listing a prefix of an S3 bucket: ListObjectsV2 pages, objects and common prefixes
// interleaved in key order; or, asked for versions, each key's current version
// (s3-list-versions.ts), falling back to a plain listing where ListObjectVersions is refused.
import { ListObjectVersionsCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { compareCodePoints } from "../code-point-order.js";
import { QuiltError } from "../errors.js";
import type { ListEntry, ListOptions } from "./object-store.js";
import { latestVersions, versionsRefusal } from "./s3-list-versions.js";
import type { S3Requests } from "./s3-requests.js";

const S3_MAX_KEYS = 1000;

/** `pageSize`: keys per page (default and maximum 1000). */
export async function* listS3(
  requests: S3Requests,
  bucket: string,
  prefix: string,
  opts: ListOptions,
  pageSize: number | undefined,
): AsyncGenerator<ListEntry> {
  if (opts.versions === true && !opts.delimiter) {
    const pages = latestVersions((m) =>
      requests.call("list", { bucket, key: prefix }, {}, () =>
        requests.client.send(
          new ListObjectVersionsCommand({
            Bucket: bucket,
            ...(prefix ? { Prefix: prefix } : {}),
            MaxKeys: Math.min(pageSize ?? S3_MAX_KEYS, S3_MAX_KEYS),
            ...(m.keyMarker !== undefined && { KeyMarker: m.keyMarker }),
            ...(m.versionIdMarker !== undefined && { VersionIdMarker: m.versionIdMarker }),
          }),
        ),
      ),
    );
    let first = true;
    try {
      for await (const e of pages) {
        first = false;
        yield e;
      }
      return;
    } catch (err) {
      // Only a refusal of the first page falls back: later failures are failures.
      if (!first || !(err instanceof QuiltError) || err.code === "ENOTFOUND" || err.code === "EABORTED")
        throw err;
      const refusal = versionsRefusal(err);
      for await (const e of listS3(requests, bucket, prefix, {}, pageSize))
        yield e.kind === "object" && refusal === "unversioned" ? { ...e, versionId: null } : e;
      return;
    }
  }
  let token: string | undefined;
  do {
    const page = await requests.call("list", { bucket, key: prefix }, {}, () =>
      requests.client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          ...(prefix ? { Prefix: prefix } : {}),
          ...(opts.delimiter ? { Delimiter: opts.delimiter } : {}),
          MaxKeys: Math.min(pageSize ?? S3_MAX_KEYS, S3_MAX_KEYS),
          ...(token ? { ContinuationToken: token } : {}),
        }),
      ),
    );
    const entries: ListEntry[] = [];
    for (const o of page.Contents ?? []) {
      if (o.Key === undefined) continue;
      entries.push({
        kind: "object",
        key: o.Key,
        size: o.Size ?? 0,
        etag: o.ETag,
        lastModified: o.LastModified,
      });
    }
    for (const p of page.CommonPrefixes ?? [])
      if (p.Prefix !== undefined) entries.push({ kind: "prefix", prefix: p.Prefix });
    // S3 returns objects and common prefixes in two lists; interleave them in key order.
    entries.sort((a, b) =>
      compareCodePoints(a.kind === "object" ? a.key : a.prefix, b.kind === "object" ? b.key : b.prefix),
    );
    yield* entries;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}
