// Credentials and request signatures never reach a user's terminal or a log file (issue 12,
// point 12): with a distinctive secret key and session token, commands that fail in
// different places (a pinned object version gone, a bucket that does not exist, a package
// that does not exist), run with --verbose, leave no trace of them in stdout, stderr, the
// CLI's log or the daemon's log.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { DeleteObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, describe, expect, it } from "vitest";
import { DaemonSandbox } from "../helpers/daemon-harness.js";
import { publishFiles, pseudoRandomBytes } from "../helpers/daemon-fixtures.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";
import { FAKE_AWS_ENV } from "../helpers/moto-server.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";

const unavailable = fuseUnavailable();
const s3 = s3TestEnv();

/** What must never be printed or logged: the secrets themselves, and what a signature carries. */
const SECRET = `quiltTestSecret${Date.now().toString(36)}Zz9`;
const TOKEN = `quiltTestToken${Date.now().toString(36)}Qq7`;
const SIGNATURE_MARKS =
  /Signature=|X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|authorization["']?\s*:/i;

async function logFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return Promise.all(names.map((n) => readFile(join(dir, n), "utf8")));
}

describe.skipIf(unavailable !== null)("secrets in output", () => {
  let box: DaemonSandbox | undefined;
  afterAll(async () => {
    await box?.cleanup();
  });

  it("never prints or logs the secret key, the session token or a signature, even on errors with --verbose", async () => {
    const salt = uniquePrefix("secrets");
    const registry = `s3://${s3.bucket}`;
    const files = {
      "gone.bin": pseudoRandomBytes(20_000, `${salt}-gone`),
      "kept.txt": Buffer.from("kept\n"),
    };
    const { manifest } = await publishFiles(s3.endpoint, registry, `${salt}/pkg`, files, { prefix: salt });
    const gone = manifest.get("gone.bin");
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

    box = await DaemonSandbox.create("secrets", { endpoint: s3.endpoint });
    Object.assign(box.env, {
      AWS_SECRET_ACCESS_KEY: SECRET,
      AWS_SESSION_TOKEN: TOKEN,
      QUILT_LOG_LEVEL: "debug",
    });
    const mnt = await box.mountDir();
    const outputs: string[] = [];
    const run = async (args: string[]) => {
      const r = await box!.cli([...args, "--verbose"]);
      outputs.push(r.stdout, r.stderr);
      return r;
    };
    expect((await run(["mount", `${salt}/pkg`, mnt, "--registry", registry])).code).toBe(0);
    // A read of an object whose pinned version is gone fails in the daemon (ESTALE).
    await expect(readFile(join(mnt, "gone.bin"))).rejects.toThrow();
    expect(await readFile(join(mnt, "kept.txt"), "utf8")).toBe("kept\n");
    expect((await run(["verify", mnt])).code).not.toBe(0);
    expect((await run(["ls", `${salt}/no-such-package`, "--registry", registry])).code).not.toBe(0);
    expect((await run(["ls", `${salt}/pkg`, "--registry", `s3://${salt}-no-such-bucket`])).code).not.toBe(0);
    expect(
      (await run(["install", `${salt}/pkg`, "--registry", registry, "--dest", join(box.root, "dest")])).code,
    ).not.toBe(0);
    await run(["unmount", mnt]);
    await run(["daemon", "stop"]);

    const logs = await logFiles(join(box.stateDir, "logs"));
    expect(logs.length).toBeGreaterThanOrEqual(2); // the CLI's and the daemon's
    expect(logs.join("\n")).toMatch(/gone\.bin|ESTALE/); // the failures were logged
    for (const text of [...outputs, ...logs]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(TOKEN);
      expect(text).not.toMatch(SIGNATURE_MARKS);
    }
  });
});
