// A remote object that no longer matches its pinned version: its pinned version was
// deleted from the versioned bucket after the package was pushed. Reading it through the
// mount answers ESTALE and no byte of it is served or cached; the rest of the mount works.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { S3Client, DeleteObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, describe, expect, it } from "vitest";
import { DaemonSandbox } from "../helpers/daemon-harness.js";
import { publishFiles, pseudoRandomBytes } from "../helpers/daemon-fixtures.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";
import { FAKE_AWS_ENV } from "../helpers/moto-server.js";

const unavailable = fuseUnavailable();
const s3 = s3TestEnv();

describe.skipIf(unavailable !== null)("daemon: a changed remote object", () => {
  let box: DaemonSandbox | undefined;
  afterAll(async () => {
    await box?.cleanup();
  });

  it("answers ESTALE for an object whose pinned version is gone, and serves nothing of it", async () => {
    const salt = uniquePrefix("dmstale");
    const files = {
      "gone.bin": pseudoRandomBytes(50_000, `${salt}-gone`),
      "kept.txt": Buffer.from("still here\n"),
    };
    const { manifest } = await publishFiles(s3.endpoint, `s3://${s3.bucket}`, `${salt}/pkg`, files, {
      prefix: salt,
    });
    const gone = manifest.get("gone.bin");
    expect(gone?.physicalKey.versionId).toBeTruthy();
    // Delete exactly the pinned version (a newer object under the same key would not help).
    const client = new S3Client({
      endpoint: s3.endpoint,
      forcePathStyle: true,
      region: FAKE_AWS_ENV.AWS_REGION,
    });
    await client.send(
      new DeleteObjectCommand({
        Bucket: s3.bucket,
        Key: gone?.physicalKey.path,
        VersionId: gone?.physicalKey.versionId ?? undefined,
      }),
    );
    client.destroy();

    box = await DaemonSandbox.create("stale", { endpoint: s3.endpoint });
    const mnt = await box.mountDir();
    await box.mount(`${salt}/pkg:v1`, mnt, `s3://${s3.bucket}`);
    const err = await readFile(join(mnt, "gone.bin")).catch((e: unknown) => e as NodeJS.ErrnoException);
    // Node has no name for ESTALE (116 on Linux): it reports the number.
    expect((err as NodeJS.ErrnoException).errno).toBe(-116);
    expect(await readFile(join(mnt, "kept.txt"), "utf8")).toBe("still here\n");
    const stats = await box.stats();
    expect(stats.cache.bytesFetched).toBeLessThan(files["gone.bin"].length);
    const verify = await box.cli(["verify", mnt]);
    expect(verify.code).toBe(1);
    expect(verify.stdout + verify.stderr).toMatch(/gone\.bin/);
  });
});
