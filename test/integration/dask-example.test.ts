// docs/examples/process_with_dask.py at small scale on the moto server, as the doc runs it:
// it pushes a package, exports its manifest, and Dask reads every file straight from S3 with
// the export's rows and then through `quilt mount` (cold and warm). Every way must read every
// file with the manifest's hash, and the bytes must be the ones the example pushed.
import { createHash } from "node:crypto";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DaemonSandbox } from "../helpers/daemon-harness.js";
import { pythonBin, runCommand } from "../helpers/daemon-fixtures.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";
import { REPO_ROOT } from "../helpers/moto-server.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`The Dask example runs without its mount part: ${unavailable}`);

const s3 = s3TestEnv();
const name = `${uniquePrefix("dask")}/sample`;
const FILES = 12;
const SIZE = 70_000;

interface Pass {
  files: number;
  bytes: number;
  ok: boolean;
}

/** The bytes the example writes for file i (see make_package). */
function sampleBytes(i: number): Buffer {
  const block = createHash("sha256").update(`${name}:${i}`).digest();
  return Buffer.concat([...Array<Buffer>(Math.floor(SIZE / 32)).fill(block), Buffer.alloc(SIZE % 32, "x")]);
}

let box: DaemonSandbox | undefined;
afterAll(async () => {
  await box?.cleanup();
});

describe("docs/examples/process_with_dask.py", () => {
  it("reads every file of a pushed package with Dask from S3 and through the mount, all the same bytes", async () => {
    box = await DaemonSandbox.create("dask", { endpoint: s3.endpoint });
    const script = join(REPO_ROOT, "docs", "examples", "process_with_dask.py");
    const args = [script, name, "--make", String(FILES), "--size", String(SIZE), "--workers", "4", "--json"];
    const stdout = await runCommand(pythonBin(), unavailable ? [...args, "--no-mount"] : args, {
      env: { ...box.env, QUILT_REGISTRY: `s3://${s3.bucket}` },
      timeoutMs: 240_000,
    });
    const out = JSON.parse(stdout) as Record<string, Pass> & {
      identical: boolean;
      sha256: Record<string, string>;
    };
    expect(out.identical).toBe(true);
    const passes = unavailable ? ["s3", "s3_again"] : ["s3", "s3_again", "mount_cold", "mount_warm"];
    for (const pass of passes)
      expect(out[pass], pass).toMatchObject({ files: FILES, bytes: FILES * SIZE, ok: true });
    const expected = Object.fromEntries(
      Array.from({ length: FILES }, (_, i) => [
        `data/part-${String(i).padStart(5, "0")}.bin`,
        createHash("sha256").update(sampleBytes(i)).digest("hex"),
      ]),
    );
    expect(out.sha256).toEqual(expected);
  }, 300_000);
});
