// The daemon holds its manifest index to QUILT_INDEX_SIZE (here 1 byte: only what mounts
// use may stay) through real mounts: versions mounted, and a mount's previous version after
// `quilt switch`, are kept however far over the limit; a version unmounted is dropped, and
// its next mount indexes it again from its manifest and reads right. `quilt cache clear`
// drops every version no mount uses, with the daemon running or stopped. A drop goes in
// batches: the daemon answers between them, and killed between two (QUILT_TEST_PAUSE_AT=
// index-drop), it leaves nothing trusted and the next start removes the rest.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import type { IndexStats } from "../../src/daemon/ops.js";
import { bigManifest, pushBigPackage, type BigPackage } from "../helpers/big-manifest.js";
import { ManifestIndex } from "../../src/storage/manifest-index.js";
import { DaemonSandbox, waitFor } from "../helpers/daemon-harness.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`Skipping index eviction tests: ${unavailable}`);

const NAME = "evict/pkg";
const V: BigPackage[] = [1, 2, 3].map((k) => ({
  files: 1500 + 100 * k,
  perDir: 300,
  flat: 200,
  seed: `v${k}`,
}));

/** `find DIR -type f` as logical key -> size. */
async function findFiles(dir: string): Promise<Map<string, number>> {
  const { stdout } = await promisify(execFile)("find", [dir, "-type", "f", "-printf", "%P\\t%s\\n"]);
  return new Map(
    stdout
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => l.split("\t") as [string, string])
      .map(([k, s]) => [k, Number(s)]),
  );
}

function expected(p: BigPackage): Map<string, number> {
  return new Map(bigManifest(p).entries.map((e) => [e.logicalKey, e.size]));
}

describe.skipIf(unavailable !== null)("daemon: the manifest index held to QUILT_INDEX_SIZE", () => {
  let box: DaemonSandbox | undefined;
  afterEach(async () => {
    await box?.cleanup();
    box = undefined;
  });

  async function setUp(env: Record<string, string>, versions = V) {
    const b = await DaemonSandbox.create("evict", { endpoint: "http://127.0.0.1:9" });
    box = b;
    const registry = join(b.root, "registry");
    const hashes: string[] = [];
    for (const [k, p] of versions.entries())
      hashes.push(await pushBigPackage(registry, NAME, p, `v${k + 1}`));
    await b.ok(["daemon", "start"], env);
    const index = async () => ((await b.stats()) as unknown as { index: IndexStats }).index;
    /** Deletes a version's manifest from the registry and the manifest cache: only the index can serve it now. */
    const forgetManifest = async (k: number) => {
      await rm(join(registry, ".quilt", "packages", hashes[k] as string));
      await rm(join(b.cacheDir, "manifests"), { recursive: true, force: true });
    };
    return { b, registry, hashes, index, forgetManifest };
  }

  it("keeps mounted and previous versions, drops an unmounted one, and indexes it again at its next mount", async () => {
    const { b, registry, index, forgetManifest } = await setUp({ QUILT_INDEX_SIZE: "1" });
    const m1 = await b.mountDir("m1");
    const m2 = await b.mountDir("m2");
    await b.mount(`${NAME}:v1`, m1, registry);
    await b.mount(`${NAME}:v2`, m2, registry);
    expect((await index()).versions).toBe(2);
    expect((await index()).maxBytes).toBe(1);

    // m2's previous version (v2) stays for `quilt switch --previous`, however far over the limit.
    await b.ok(["switch", m2, "v3"]);
    expect((await index()).versions).toBe(3);
    await forgetManifest(1);
    await b.ok(["switch", m2, "--previous"]);
    expect(await findFiles(m2)).toEqual(expected(V[1] as BigPackage));
    // v3 is now m2's previous version: still kept.
    expect((await index()).versions).toBe(3);

    // Unmounted, v1 is dropped at once; its next mount indexes it again and reads right.
    await b.ok(["unmount", m1]);
    expect((await index()).versions).toBe(2);
    await b.mount(`${NAME}:v1`, m1, registry);
    expect((await index()).versions).toBe(3);
    expect(await findFiles(m1)).toEqual(expected(V[0] as BigPackage));

    // Dropped again, with its manifest gone from the registry: the index no longer has it.
    await b.ok(["unmount", m1]);
    await forgetManifest(0);
    const r = await b.cli(["mount", `${NAME}:v1`, m1, "--registry", registry]);
    expect(r.code, r.stderr).not.toBe(0);
  });

  it("quilt cache clear drops every version no mount uses, with the daemon running and stopped", async () => {
    const { b, registry, index } = await setUp({});
    const m1 = await b.mountDir("m1");
    const m2 = await b.mountDir("m2");
    await b.mount(`${NAME}:v1`, m1, registry);
    await b.mount(`${NAME}:v2`, m2, registry);
    await b.ok(["unmount", m1]);
    // Within the default limit, an unmounted version stays indexed (a remount reads no JSONL).
    expect((await index()).versions).toBe(2);
    const running = JSON.parse((await b.ok(["cache", "clear", "--json"])).stdout) as {
      index: { dropped: number; usedBytes: number; fileBytes: number };
    };
    expect(running.index.dropped).toBe(1);
    expect(running.index.fileBytes).toBeGreaterThan(0);
    expect((await index()).versions).toBe(1);
    expect(await findFiles(m2)).toEqual(expected(V[1] as BigPackage));

    await b.ok(["unmount", m2]);
    await b.ok(["daemon", "stop"]);
    const human = await b.ok(["cache", "clear"]);
    expect(human.stdout).toMatch(/Manifest index: 1 version\(s\) no mount uses dropped/);
    await b.mount(`${NAME}:v2`, m2, registry);
    expect(await findFiles(m2)).toEqual(expected(V[1] as BigPackage));
  });

  it(
    "a drop killed between two batches leaves nothing trusted; the next start removes the rest, and the version mounts again",
    { timeout: 120_000 },
    async () => {
      // Versions of a few hundred records: a drop takes several batches (DROP_BATCH_RECORDS each).
      const big = [1, 2].map((k): BigPackage => ({
        files: 30_000,
        perDir: 300,
        flat: 1000,
        seed: `big${k}`,
      }));
      const marker = join(tmpdir(), `quilt-index-drop-${process.pid}-${Date.now()}`);
      const { b, registry, index, forgetManifest } = await setUp(
        { QUILT_INDEX_SIZE: "1", QUILT_TEST_PAUSE_AT: "index-drop", QUILT_TEST_PAUSE_MARKER: marker },
        big,
      );
      try {
        const m1 = await b.mountDir("m1");
        const m2 = await b.mountDir("m2");
        await b.mount(`${NAME}:v1`, m1, registry);
        await b.mount(`${NAME}:v2`, m2, registry);
        // Unmounted, v1 is dropped: its header goes, then one batch of records, and the daemon pauses there.
        await b.ok(["unmount", m1]);
        await waitFor(() => existsSync(marker), 30_000, "the daemon to pause between two batches of a drop");
        // Meanwhile the daemon answers: every stat of the other mount (FUSE), and its socket.
        expect(await findFiles(m2)).toEqual(expected(big[1] as BigPackage));
        expect((await index()).versions).toBe(1);
        await b.kill9();

        // What the kill left: v1 without its header (not trusted) and part of its records.
        const paths = join(b.stateDir, "manifest-index");
        const left = ManifestIndex.open(paths);
        try {
          expect(left.versions()).toHaveLength(1);
          expect(left.survey().incomplete).toHaveLength(1);
        } finally {
          await left.close();
        }
        // Only the index could serve v1 now: it must not.
        await forgetManifest(0);
        await b.ok(["daemon", "start"], { QUILT_INDEX_SIZE: "1" });
        expect(await findFiles(m2)).toEqual(expected(big[1] as BigPackage));
        const r = await b.cli(["mount", `${NAME}:v1`, m1, "--registry", registry]);
        expect(r.code, r.stderr).not.toBe(0);
        // The start removed what the killed drop left.
        await waitFor(
          async () => {
            const after = ManifestIndex.open(paths);
            try {
              return after.survey().incomplete.length === 0;
            } finally {
              await after.close();
            }
          },
          30_000,
          "the records of the half-dropped version to be removed",
        );
        // Published again, v1 is indexed again from its manifest and reads right.
        await pushBigPackage(registry, NAME, big[0] as BigPackage, "v1");
        await b.mount(`${NAME}:v1`, m1, registry);
        expect(await findFiles(m1)).toEqual(expected(big[0] as BigPackage));
      } finally {
        await rm(marker, { force: true });
      }
    },
  );
});
