// kill -9 of `quilt install` in the middle of a file, chosen from outside: a proxy in front
// of moto sends the large file up to offset 256 KiB and then holds its GET, and the test
// kills the CLI while it waits. Afterwards no file stands under its final name with wrong
// bytes, `quilt verify DIR` names what is missing (exit 1), and either `quilt force-match
// DIR` or the same `quilt install` again completes the directory, which then verifies.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isDownloadTemp } from "../../src/api/download-temp.js";
import { CliSession } from "../helpers/cli-builder.js";
import { killCliAt } from "../helpers/crash-cli.js";
import { publishFiles, walkFiles } from "../helpers/daemon-fixtures.js";
import { startHoldProxy, type HoldProxy } from "../helpers/hold-proxy.js";
import { FAKE_AWS_ENV } from "../helpers/moto-server.js";
import { pseudoRandomBytes } from "../helpers/package-fixtures.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";
import { cleanupAll, tempRoot } from "../helpers/usecase-support.js";

const s3 = s3TestEnv();
const registry = `s3://${s3.bucket}`;
const salt = uniquePrefix("instcrash");
const name = `${salt}/data`;
const MiB = 1024 * 1024;
/** Over 8 MiB, so install streams it into a temporary file in parallel ranges. */
const BIG = "big/large.bin";
const FILES: Record<string, Buffer> = {
  "README.md": Buffer.from(`# ${salt}\n`),
  "small/a.bin": pseudoRandomBytes(10_000, `${salt}-a`),
  [BIG]: pseudoRandomBytes(9 * MiB + 5, `${salt}-big`),
};

let proxy: HoldProxy;
let q: CliSession;
let root = "";

/** Files under their final names (not temporaries, not install state), each with its bytes. */
async function finalFiles(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const [key, path] of await walkFiles(dir)) {
    if (key.startsWith(".quilt/") || isDownloadTemp(key.split("/").pop() ?? "")) continue;
    out.set(key, await readFile(path));
  }
  return out;
}

/** `quilt install` killed while the large file is half-way; checks what it left and what verify says. */
async function killedInstall(dest: string): Promise<void> {
  const held = proxy.hold({ method: "GET", key: `${salt}-data/${BIG}`, atOffset: 256 * 1024 });
  await killCliAt(["install", `${name}:v1`, "--dest", dest], held, { env: q.env, cwd: root });
  proxy.release();

  // Mid-file: its temporary file is there, the file itself is not.
  expect((await readdir(join(dest, "big"))).filter(isDownloadTemp)).toHaveLength(1);
  const present = await finalFiles(dest);
  expect(present.has(BIG)).toBe(false);
  // Whatever stands under its final name holds the package's bytes.
  for (const [key, bytes] of present) expect(bytes.equals(FILES[key] as Buffer), key).toBe(true);

  const verify = await q.run("verify", dest);
  expect(verify.code, verify.stdout + verify.stderr).toBe(1);
  expect(verify.stdout).toContain(`${dest}/${BIG} does not exist locally, but is in the manifest ${name}:v1`);
  expect(verify.stdout).toContain(`This can be fixed by calling quilt force-match ${dest}`);
}

/** Every file in place with its bytes, verify passes; `leftovers` temporary files of the killed run remain. */
async function expectComplete(dest: string, leftovers: number): Promise<void> {
  const present = await finalFiles(dest);
  expect([...present.keys()].sort()).toEqual(Object.keys(FILES).sort());
  for (const [key, bytes] of present) expect(bytes.equals(FILES[key] as Buffer), key).toBe(true);
  expect((await readdir(join(dest, "big"))).filter(isDownloadTemp)).toHaveLength(leftovers);
  expect(await q.ok("verify", dest)).toBe(`${dest} matches manifest ${name}:v1\n`);
}

beforeAll(async () => {
  await publishFiles(s3.endpoint, registry, name, FILES, { prefix: `${salt}-data/` });
  proxy = await startHoldProxy(s3.endpoint);
  root = tempRoot("install-crash");
  q = new CliSession(root, {
    ...FAKE_AWS_ENV,
    AWS_ENDPOINT_URL: proxy.endpoint,
    QUILT_REGISTRY: registry,
    QUILT_CACHE_DIR: join(root, "cache"),
    QUILT_STATE_DIR: join(root, "state"),
  });
});

afterAll(async () => {
  await proxy?.close();
  await cleanupAll();
});

describe("quilt install killed with SIGKILL mid-file", () => {
  it("verify names the missing file; force-match completes the directory", async () => {
    const dest = join(root, "forced");
    await killedInstall(dest);
    const forced = await q.ok("force-match", dest);
    expect(forced).toContain(`${dest}/${BIG} added from s3://${s3.bucket}/${salt}-data/${BIG}`);
    // force-match removes the killed run's temporary file.
    await expectComplete(dest, 0);
  });

  it("verify names the missing file; installing again completes the directory", async () => {
    const dest = join(root, "again");
    await killedInstall(dest);
    await q.ok("install", `${name}:v1`, "--dest", dest);
    // The killed run's temporary file names its writer's host and pid: the writer is gone,
    // so the install removes it at once, seconds old as it is.
    await expectComplete(dest, 0);
  });
});
