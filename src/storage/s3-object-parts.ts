// An object's part sizes and SHA-256 checksums, where S3 kept them (an upload with
// checksums): they let a reader verify each chunk of a large object as it arrives instead
// of only the whole. An optimisation, never required, so no failure here stops a read.
import { GetObjectAttributesCommand, type S3Client } from "@aws-sdk/client-s3";
import type { ObjectLocation, ObjectPart } from "./object-store.js";

/**
 * Part sizes and SHA-256 checksums (GetObjectAttributes with ObjectParts, paged). Servers
 * that do not implement it, or objects uploaded without checksums, give undefined; a server
 * found without the API adds the bucket to `unsupported`, which is then not asked again.
 */
export async function objectParts(
  client: S3Client,
  loc: ObjectLocation,
  unsupported: Set<string>,
): Promise<ObjectPart[] | undefined> {
  if (unsupported.has(loc.bucket)) return undefined;
  const parts: ObjectPart[] = [];
  let marker: string | undefined;
  try {
    for (let page = 0; page < 20; page++) {
      // One attempt, no retries: a server without the API must not cost a backoff per object.
      const res = await client.send(
        new GetObjectAttributesCommand({
          Bucket: loc.bucket,
          Key: loc.key,
          ...(loc.versionId !== undefined && { VersionId: loc.versionId }),
          ObjectAttributes: ["ObjectParts", "ObjectSize"],
          MaxParts: 1000,
          ...(marker !== undefined && { PartNumberMarker: marker }),
        }),
      );
      const op = res.ObjectParts;
      if (!op?.Parts || op.Parts.length === 0) return undefined;
      for (const p of op.Parts)
        parts.push({
          partNumber: p.PartNumber ?? 0,
          size: p.Size ?? 0,
          ...(p.ChecksumSHA256 !== undefined && { checksumSha256: p.ChecksumSHA256 }),
        });
      if (!op.IsTruncated) return parts;
      marker = op.NextPartNumberMarker;
      if (marker === undefined) return undefined;
    }
    return undefined;
  } catch (err) {
    // A server that does not implement the API (moto answers the JS SDK with an error):
    // stop asking for this bucket. Access denied or a missing object: this object only.
    if (!/AccessDenied|NoSuchKey|NotFound|NoSuchVersion/.test(String((err as { name?: string }).name)))
      unsupported.add(loc.bucket);
    return undefined;
  }
}
