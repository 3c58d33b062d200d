// What S3 says it stored, turned into the quilt hash a push compares with the manifest's:
// a single PUT's SHA-256, a multipart upload's composite in quilt's chunk layout, and
// nothing when the layout differs or the hash type is another.
import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hashBytes } from "../../src/manifest/checksums.js";
import { hashFromStoredChecksum } from "../../src/api/push-data.js";

const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash("sha256").update(b).digest();

function composite(data: Buffer, partBytes: number): string {
  const digests: Buffer[] = [];
  for (let i = 0; i < data.length; i += partBytes) digests.push(sha(data.subarray(i, i + partBytes)));
  return `${sha(Buffer.concat(digests)).toString("base64")}-${digests.length}`;
}

describe("hashFromStoredChecksum", () => {
  it("a single PUT's SHA-256 gives the sha2-256-chunked hash", async () => {
    const data = randomBytes(100_000);
    expect(hashFromStoredChecksum(data.length, "sha2-256-chunked", sha(data).toString("base64"))).toEqual(
      await hashBytes(data),
    );
  });

  it("a multipart composite in 8 MiB parts is the hash; in other parts it tells nothing", async () => {
    const data = randomBytes(20 * MiB + 3);
    expect(hashFromStoredChecksum(data.length, "sha2-256-chunked", composite(data, 8 * MiB))).toEqual(
      await hashBytes(data),
    );
    expect(hashFromStoredChecksum(data.length, "sha2-256-chunked", composite(data, 5 * MiB))).toBeUndefined();
  });

  it("tells nothing without a checksum or for another hash type", () => {
    expect(hashFromStoredChecksum(10, "sha2-256-chunked", undefined)).toBeUndefined();
    expect(hashFromStoredChecksum(10, "SHA256", sha(Buffer.alloc(10)).toString("base64"))).toBeUndefined();
  });
});
