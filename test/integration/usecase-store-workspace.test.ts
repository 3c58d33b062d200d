// USECASES.md "Store Entire Workspace" on the moto server:
//   PackageBuilder("bucket/temp:2019-10-31").add(".").push_data_and_manifest(prefix="armand/temp/2019-10-31/")
// from a training workspace with a .quiltignore: only the files it does not ignore are
// uploaded and packaged, the workspace's own .quilt/ never is, the version is tagged as
// the builder's name says, and the real quilt3 reads it with the same top hash.
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Package, PackageBuilder } from "../../src/index.js";
import { pseudoRandomBytes, readTree } from "../helpers/package-fixtures.js";
import { uniquePrefix } from "../helpers/s3.js";
import {
  cleanupAll,
  newContext,
  objectVersions,
  quilt3Read,
  sha256Hex,
  tempRoot,
  usecaseEnv,
  withCwd,
  writeTree,
} from "../helpers/usecase-support.js";

const env = usecaseEnv();
afterAll(cleanupAll);

function trainingWorkspace(salt: string): { dir: string; kept: Record<string, string | Buffer> } {
  const kept: Record<string, string | Buffer> = {
    "model/weights.bin": pseudoRandomBytes(60_000, `${salt}-weights`),
    "outputs/metrics.json": '{"accuracy": 0.93, "loss": 0.21}\n',
    "src/train.py": "print('training')\n",
    "environment.txt": "docker: repo/image@sha256:abc\ngit: 0123abc\nquilt: bucket/dataset@82111d74b\n",
    "README.md": `# Training run ${salt}\n`,
  };
  const ignored: Record<string, string | Buffer> = {
    ".quiltignore": "*.log\ncheckpoints/\n.git/\n__pycache__/\n",
    "logs/run.log": "epoch 1 ...\n",
    "debug.log": "noise\n",
    "checkpoints/ckpt-1.bin": pseudoRandomBytes(5000, `${salt}-ckpt`),
    ".git/HEAD": "ref: refs/heads/main\n",
    "src/__pycache__/train.cpython-311.pyc": "bytecode",
    // The workspace's own state directory: never part of a package.
    ".quilt/workspace.json": '{"state": true}\n',
  };
  return { dir: writeTree(tempRoot("workspace"), { ...kept, ...ignored }), kept };
}

describe("use case: Store Entire Workspace", () => {
  it('PackageBuilder(...).add(".").pushDataAndManifest({prefix}) stores only the non-ignored files, never .quilt/', async () => {
    const salt = uniquePrefix("ucws");
    const { dir, kept } = trainingWorkspace(salt);
    const prefix = `${salt}/armand/temp/2019-10-31/`;
    const ctx = newContext(env.endpoint);
    const pkg = await withCwd(dir, async () =>
      (
        await new PackageBuilder(`${salt}/temp`, { registry: env.registry, session: ctx }).add(".")
      ).pushDataAndManifest({ prefix }),
    );
    const expected = Object.keys(kept).sort();
    // quilt3's set_dir keeps the .quiltignore file itself; whether we do is a design choice, not checked here.
    const keys = [...pkg].map((e) => e.logicalKey as string).filter((k) => k !== ".quiltignore");
    expect(keys.sort()).toEqual(expected);
    expect(keys.some((k) => k.startsWith(".quilt/"))).toBe(false);
    for (const e of pkg)
      expect(
        e.physicalKey.startsWith(`${env.registry}/${prefix}${e.logicalKey}?versionId=`),
        e.physicalKey,
      ).toBe(true);

    // The bucket holds what the package holds, and nothing that was ignored.
    const objects = [...(await objectVersions(env, `${salt}/`)).keys()]
      .map((k) => k.slice(prefix.length))
      .sort();
    expect(objects).toEqual([...pkg].map((e) => e.logicalKey as string).sort());

    // Installed elsewhere, the workspace's outputs come back byte for byte.
    const browsed = await Package.browse(`${salt}/temp`, {
      registry: env.registry,
      session: newContext(env.endpoint),
    });
    expect(browsed.hash).toBe(pkg.hash);
    const dest = join(tempRoot("ws-install"), "restored");
    await browsed.download(dest);
    const tree = readTree(dest);
    for (const k of expected)
      expect(sha256Hex(tree.get(k) as Buffer), `bytes of ${k}`).toBe(sha256Hex(kept[k] as Buffer));

    const [seen] = await quilt3Read(env, [{ name: `${salt}/temp` }]);
    expect(seen?.top_hash).toBe(pkg.hash);
    for (const k of expected) expect(seen?.entries[k]?.sha256).toBe(sha256Hex(kept[k] as Buffer));
  });

  it("the tag in the builder's name (bucket/temp:2019-10-31) names the pushed version", async () => {
    const salt = uniquePrefix("ucwstag");
    const { dir } = trainingWorkspace(salt);
    const ctx = newContext(env.endpoint);
    const pkg = await withCwd(dir, async () =>
      (
        await new PackageBuilder(`${salt}/temp:2019-10-31`, { registry: env.registry, session: ctx }).add(".")
      ).pushDataAndManifest({
        prefix: `${salt}/armand/temp/2019-10-31/`,
      }),
    );
    expect(pkg.label).toBe(`${salt}/temp:2019-10-31`);
    const byTag = await Package.browse(`${salt}/temp:2019-10-31`, {
      registry: env.registry,
      session: newContext(env.endpoint),
    });
    expect(byTag.hash).toBe(pkg.hash);
  });
});
