// QUILT_INDEX_THREADS through a real daemon: a bad value is the caller's usage error before
// any daemon starts (with the setting named and a hint), and a daemon's index builds of a
// manifest over two segments use the parse workers it asks for (0: the build's own thread),
// as the daemon's log of each version indexed says.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { pushBigPackage, type BigPackage } from "../helpers/big-manifest.js";
import { DaemonSandbox } from "../helpers/daemon-harness.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`Skipping QUILT_INDEX_THREADS daemon tests: ${unavailable}`);

const NAME = "threads/pkg";
/** About 10 MiB of manifest: more than two 4 MiB segments, so the build may use parse workers. */
const SHAPE = (seed: string): BigPackage => ({ files: 45_000, perDir: 500, flat: 1000, seed });

/** The parse workers of each version the daemon indexed, in order, from its log. */
async function parseThreadsLogged(box: DaemonSandbox): Promise<number[]> {
  const text = await readFile(box.logFile, "utf8");
  return text
    .split("\n")
    .filter((l) => l.includes('"indexed a version"'))
    .map((l) => (JSON.parse(l) as { parseThreads: number }).parseThreads);
}

describe.skipIf(unavailable !== null)("daemon: QUILT_INDEX_THREADS", () => {
  let box: DaemonSandbox | undefined;
  afterEach(async () => {
    await box?.cleanup();
    box = undefined;
  });

  it(
    "refuses a bad value before starting, and builds with the parse workers asked for",
    { timeout: 120_000 },
    async () => {
      const b = await DaemonSandbox.create("threads", { endpoint: "http://127.0.0.1:9" });
      box = b;
      const bad = await b.cli(["daemon", "start"], { QUILT_INDEX_THREADS: "lots" });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('Invalid QUILT_INDEX_THREADS="lots"');
      expect(bad.stderr).toMatch(/hint: .*0 \(parse in the build's own thread\) to 64/);
      expect(await b.pid()).toBeUndefined();

      const registry = join(b.root, "registry");
      await pushBigPackage(registry, NAME, SHAPE("a"), "a");
      await pushBigPackage(registry, NAME, SHAPE("b"), "b");
      const mnt = await b.mountDir();
      await b.ok(["daemon", "start"], { QUILT_INDEX_THREADS: "0" });
      await b.mount(`${NAME}:a`, mnt, registry);
      await b.ok(["unmount", mnt]);
      await b.ok(["daemon", "stop"]);
      await b.ok(["daemon", "start"], { QUILT_INDEX_THREADS: "3" });
      await b.mount(`${NAME}:b`, mnt, registry);
      expect(await parseThreadsLogged(b)).toEqual([0, 3]);
    },
  );
});
