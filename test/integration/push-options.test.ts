// quilt3's push options: `dedupe` pushes nothing when the registry's latest is the same
// version (no new timestamp, no data copied), from the library and with `quilt push
// --dedupe`; a version in S3 can be pushed to another registry, which copies its objects
// there; `select` (quilt3's selector_fn) copies only the chosen entries and leaves the
// others' physical keys as they were; `map` visits every entry.
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { listPackageVersions, Package, PackageBuilder } from "../../src/index.js";
import { runCli } from "../helpers/cli.js";
import { uniquePrefix } from "../helpers/s3.js";
import { cleanupAll, newContext, tempRoot, usecaseEnv } from "../helpers/usecase-support.js";

const env = usecaseEnv();
afterAll(cleanupAll);

function files(dir: string, contents: Record<string, string>): string {
  for (const [name, text] of Object.entries(contents)) writeFileSync(join(dir, name), text);
  return dir;
}

describe("push options", () => {
  it("dedupe: the same version twice is pushed once, from the library", async () => {
    const root = tempRoot("dedupe-lib");
    const registry = join(root, "registry");
    const src = files(tempRoot("dedupe-src"), { "a.txt": "alpha\n", "b.txt": "beta\n" });
    const ctx = newContext(env.endpoint);
    const push = async (dedupe: boolean) => {
      const lines: string[] = [];
      const b = new PackageBuilder("opt/dedupe", { registry, session: ctx, output: (l) => lines.push(l) });
      await b.add(src);
      const pkg = await b.pushDataAndManifest({ prefix: "data", dedupe });
      return { pkg, lines };
    };
    const first = await push(true);
    const pointers = async () =>
      (await listPackageVersions("opt/dedupe", { registry, session: ctx })).flatMap((v) => v.pointers);
    const before = await pointers();
    // Pushes within one second share their timestamp pointer, so wait for the next second.
    await new Promise((r) => setTimeout(r, 1100));
    const second = await push(true);
    expect(second.pkg.hash).toBe(first.pkg.hash);
    expect(second.lines).toContain(
      `Skipping since package with hash ${first.pkg.hash} already exists at the destination and dedupe parameter is true.`,
    );
    expect(second.lines.some((l) => l.startsWith("Pushing manifest"))).toBe(false);
    expect(await pointers()).toEqual(before);
    // Without dedupe the same version gets a new timestamp.
    await push(false);
    expect((await pointers()).length).toBe(before.length + 1);
  });

  it("dedupe: `quilt push --dedupe` of an unchanged workspace pushes nothing", async () => {
    const root = tempRoot("dedupe-cli");
    const ws = files(tempRoot("dedupe-ws"), { "a.txt": "alpha\n" });
    const registry = join(root, "registry");
    const cli = (...args: string[]) =>
      runCli(args, {
        cwd: ws,
        env: { QUILT_CACHE_DIR: join(root, "cache"), QUILT_STATE_DIR: join(root, "st") },
      });
    expect((await cli("init", "opt/cli", "--registry", registry)).code).toBe(0);
    expect((await cli("add", "a.txt")).code).toBe(0);
    const first = await cli("push", "--prefix", "data", "--dedupe", "--json");
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).skipped).toBeUndefined();
    await new Promise((r) => setTimeout(r, 1100));
    const again = await cli("push", "--prefix", "data", "--dedupe", "--json");
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      skipped: true,
      topHash: JSON.parse(first.stdout).topHash,
    });
    const timestamps = readdirSync(join(registry, ".quilt", "named_packages", "opt", "cli")).filter((p) =>
      /^\d+$/.test(p),
    );
    expect(timestamps).toHaveLength(1);
  });

  it("pushes a version to another registry; select copies only the chosen entries", async () => {
    const root = tempRoot("other-registry");
    const [regB, regC] = ["b", "c"].map((r) => join(root, r)) as [string, string];
    const src = files(tempRoot("other-src"), { "keep.txt": "kept\n", "move.txt": "moved\n" });
    const ctx = newContext(env.endpoint);
    const name = `opt/${uniquePrefix("copy")}`;
    const b = new PackageBuilder(name, { registry: env.registry, session: ctx });
    await b.add(src, "");
    const inS3 = await b.pushDataAndManifest({ prefix: name });
    const [keepKey, moveKey] = inS3.map((e) => e.physicalKey) as [string, string];
    expect(keepKey).toMatch(new RegExp(`^s3://${env.bucket}/${name}/keep.txt\\?versionId=`));

    // All of it into B: every entry now points into B, with the same top hash.
    const inB = await inS3.asPackageBuilder({ registry: regB }).pushDataAndManifest({ prefix: "copied" });
    expect(inB.hash).toBe(inS3.hash);
    expect(inB.map((e) => e.physicalKey)).toEqual([
      `file://${regB}/copied/keep.txt`,
      `file://${regB}/copied/move.txt`,
    ]);
    const browsed = await Package.browse(name, { registry: regB, session: ctx });
    expect((await browsed.getContents("move.txt")).toString()).toBe("moved\n");

    // Only the selected entry into C; the other keeps its key in S3.
    const seen: string[] = [];
    const inC = await inS3.asPackageBuilder({ registry: regC }).pushDataAndManifest({
      prefix: "sel",
      select: (e) => {
        seen.push(`${e.logicalKey} ${e.physicalKey}`);
        return e.logicalKey === "move.txt";
      },
    });
    expect(seen.sort()).toEqual([`keep.txt ${keepKey}`, `move.txt ${moveKey}`]);
    expect(inC.hash).toBe(inS3.hash);
    expect(inC.map((e) => [e.logicalKey, e.physicalKey])).toEqual([
      ["keep.txt", keepKey],
      ["move.txt", `file://${regC}/sel/move.txt`],
    ]);
  });
});
