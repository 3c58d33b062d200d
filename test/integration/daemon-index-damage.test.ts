// A damaged record in a real daemon's manifest index (one byte of one file's node flipped
// on disk while the daemon was down, as a bad sector would): the mount restored at the next
// start fails that file's open with EIO rather than serve it under a wrong hash, the daemon
// removes the version in the background and answers meanwhile, and a remount indexes the
// version again from its verified manifest: every file then reads right.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { IndexStats } from "../../src/daemon/ops.js";
import { hashValue } from "../../src/manifest/manifest.js";
import { DaemonSandbox, waitFor } from "../helpers/daemon-harness.js";
import { mountDifferences, publishFiles, pseudoRandomBytes } from "../helpers/daemon-fixtures.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";
import { flipByteIn } from "../unit/manifest-index-fixtures.js";

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`Skipping daemon index damage tests: ${unavailable}`);

const s3 = s3TestEnv();
const registry = `s3://${s3.bucket}`;
const salt = uniquePrefix("dmdamage");
const name = `${salt}/damaged`;
/** Files enough for two pages of nodes (256 each). */
const FILES: Record<string, Buffer> = Object.fromEntries(
  Array.from({ length: 300 }, (_, i) => [
    `d/f${String(i).padStart(4, "0")}.bin`,
    pseudoRandomBytes(100 + i, `${salt}-${i}`),
  ]),
);
const VICTIM = "d/f0150.bin";

describe.skipIf(unavailable !== null)("daemon: a damaged record in the manifest index", () => {
  let box: DaemonSandbox | undefined;
  afterAll(async () => {
    await box?.cleanup();
  });

  it("fails the file's open with EIO, removes the version while answering, and a remount reads every file right", async () => {
    const { manifest } = await publishFiles(s3.endpoint, registry, name, FILES, { prefix: `${salt}-data/` });
    const b = await DaemonSandbox.create("damage", { endpoint: s3.endpoint });
    box = b;
    const mnt = await b.mountDir();
    await b.mount(`${name}:v1`, mnt, registry);
    expect((await readFile(join(mnt, VICTIM))).equals(FILES[VICTIM] as Buffer)).toBe(true);

    await b.kill9();
    const victim = manifest.get(VICTIM);
    expect(victim).toBeDefined();
    expect(await flipByteIn(join(b.stateDir, "manifest-index"), hashValue(victim!))).toBe(1);
    await b.ok(["daemon", "start"]);
    const err = await readFile(join(mnt, VICTIM)).then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e,
    );
    expect(err?.code).toBe("EIO");
    const index = async () => ((await b.stats()) as unknown as { index: IndexStats }).index;
    await waitFor(
      async () => (await index()).leftovers?.versions === 0,
      30_000,
      "the damaged version's removal",
    );
    expect(await index()).toMatchObject({ versions: 0, leftovers: { versions: 0, records: 0, removing: 0 } });
    expect(await readFile(b.logFile, "utf8")).toContain("removing a damaged version from the manifest index");

    await b.ok(["unmount", mnt]);
    await b.mount(`${name}:v1`, mnt, registry);
    expect(await mountDifferences(mnt, FILES)).toEqual([]);
    expect((await index()).versions).toBe(1);
  });
});
