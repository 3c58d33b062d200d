// The daemon holds its manifest index to QUILT_INDEX_SIZE (here 1 byte: only what mounts
// use may stay) through real mounts: versions mounted, and a mount's previous version after
// `quilt switch`, are kept however far over the limit; a version unmounted is dropped, and
// its next mount indexes it again from its manifest and reads right. `quilt cache clear`
// drops every version no mount uses, with the daemon running or stopped.
import { execFile } from "node:child_process";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import type { IndexStats } from "../../src/daemon/ops.js";
import { bigManifest, pushBigPackage, type BigPackage } from "../helpers/big-manifest.js";
import { DaemonSandbox } from "../helpers/daemon-harness.js";
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

  async function setUp(env: Record<string, string>) {
    const b = await DaemonSandbox.create("evict", { endpoint: "http://127.0.0.1:9" });
    box = b;
    const registry = join(b.root, "registry");
    const hashes: string[] = [];
    for (const [k, p] of V.entries()) hashes.push(await pushBigPackage(registry, NAME, p, `v${k + 1}`));
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
});
