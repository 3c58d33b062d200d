// Listing and deleting versions, tags and packages (quilt3's list_package_versions and
// delete_package), checked both ways against the real quilt3: what we delete is gone for
// quilt3 with `latest` moved to the newest remaining version, and what quilt3 deletes is
// gone for us. Local registries lose the emptied directories too, which quilt3 would
// otherwise still list as a package. The CLI refuses a bare name without --all.
import { writeFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  deletePackage,
  listPackages,
  listPackageVersions,
  PackageBuilder,
  type Session,
} from "../../src/index.js";
import { runCli } from "../helpers/cli.js";
import { runQuilt3Json } from "../helpers/quilt3.js";
import { uniquePrefix } from "../helpers/s3.js";
import { cleanupAll, newContext, tempRoot, usecaseEnv } from "../helpers/usecase-support.js";

const env = usecaseEnv();
afterAll(cleanupAll);

/** Pushes three versions tagged v1..v3 whose timestamps are 1700000001..3 (pushes within one second would share one). */
async function threeVersions(ctx: Session, registry: string, name: string): Promise<string[]> {
  const dir = tempRoot("delete-src");
  const hashes: string[] = [];
  for (const n of [1, 2, 3]) {
    const file = join(dir, `f${n}.txt`);
    writeFileSync(file, `version ${n}\n`);
    const b = new PackageBuilder(name, { registry, session: ctx });
    await b.set("data.txt", file);
    const pkg = await b.pushDataAndManifest({ prefix: `${name}/v${n}`, tag: `v${n}` });
    hashes.push(pkg.hash);
  }
  const reg = ctx.registry(ctx.registryUrl(registry));
  for (const v of await reg.listVersions(name)) {
    for (const p of v.pointers.filter((x) => /^\d+$/.test(x))) {
      await reg.store.delete({ bucket: reg.bucket, key: `.quilt/named_packages/${name}/${p}` });
    }
  }
  for (const [i, h] of hashes.entries()) await reg.writePointer(name, String(1700000001 + i), h as never);
  await reg.writePointer(name, "latest", hashes[2] as never);
  return hashes;
}

/** quilt3's view: list_package_versions (pointer → hash) and whether list_packages names the package. */
async function quilt3View(
  registry: string,
  name: string,
): Promise<{ pointers: Record<string, string>; listed: boolean }> {
  return runQuilt3Json(
    `import json, quilt3
try:
    pointers = dict(quilt3.list_package_versions(ARGS["name"], registry=ARGS["registry"]))
except Exception:
    pointers = {}
listed = ARGS["name"] in list(quilt3.list_packages(ARGS["registry"]))
print(json.dumps({"pointers": pointers, "listed": listed}))`,
    { name, registry },
    { env: env.env },
  );
}

describe("list and delete versions in an S3 registry, with quilt3", () => {
  it("deletes a version (latest moves back), a tag, and sees quilt3's deletes", async () => {
    const ctx = newContext(env.endpoint);
    const name = `del/${uniquePrefix("s3")}`;
    const [h1, h2, h3] = (await threeVersions(ctx, env.registry, name)) as [string, string, string];
    const opts = { registry: env.registry, session: ctx };

    const versions = await listPackageVersions(name, opts);
    expect(versions.map((v) => v.topHash)).toEqual([h3, h2, h1]);
    expect(versions[0]?.tags).toEqual(["v3"]);
    expect(versions[2]?.time?.getTime()).toBe(1700000001000);

    const r = await deletePackage(name, { ...opts, topHash: h3.slice(0, 10) });
    expect(r).toMatchObject({ scope: "version", topHash: h3, latest: h2 });
    expect([...r.deleted].sort()).toEqual(["1700000003", "latest", "v3"]);
    let seen = await quilt3View(env.registry, name);
    expect(seen.pointers).toEqual({ "1700000001": h1, "1700000002": h2, latest: h2, v1: h1, v2: h2 });

    expect(await deletePackage(name, { ...opts, tag: "v1" })).toMatchObject({ scope: "tag", topHash: h1 });
    seen = await quilt3View(env.registry, name);
    expect(seen.pointers).toEqual({ "1700000001": h1, "1700000002": h2, latest: h2, v2: h2 });

    // quilt3 deletes v2, the latest: ours sees latest back on v1.
    await runQuilt3Json(
      `import json, quilt3
quilt3.delete_package(ARGS["name"], registry=ARGS["registry"], top_hash=ARGS["hash"])
print("{}")`,
      { name, registry: env.registry, hash: h2 },
      { env: env.env },
    );
    const left = await listPackageVersions(name, opts);
    expect(left.map((v) => [v.topHash, [...v.pointers].sort()])).toEqual([[h1, ["1700000001", "latest"]]]);

    // A version that is not there, and a tag that is not there, are errors that say so.
    await expect(deletePackage(name, { ...opts, topHash: h3 })).rejects.toMatchObject({ code: "ENOTFOUND" });
    await expect(deletePackage(name, { ...opts, tag: "v9" })).rejects.toThrow(/No tag "v9" of/);
    await expect(deletePackage(name, { ...opts, tag: "latest" })).rejects.toMatchObject({ code: "EUSAGE" });

    // The whole package.
    expect(await listPackages(opts)).toContain(name);
    const whole = await deletePackage(name, opts);
    expect(whole).toMatchObject({ scope: "package", latest: null });
    // Every pointer is gone for both clients. (moto's delimiter listing still shows the
    // emptied prefix of a versioned bucket, so list_packages is checked on the local registry.)
    expect(await listPackageVersions(name, opts)).toEqual([]);
    seen = await quilt3View(env.registry, name);
    expect(seen.pointers).toEqual({});
  });
});

describe("quilt delete on a local registry", () => {
  it("refuses a bare name without --all, deletes a version and then the package, leaving no directory", async () => {
    const root = tempRoot("delete-local");
    const registry = join(root, "registry");
    const ctx = newContext(env.endpoint);
    const name = "del/local";
    const [h1, h2] = (await threeVersions(ctx, registry, name)) as [string, string, string];
    const cli = (...args: string[]) =>
      runCli([...args, "--registry", registry], { env: { QUILT_CACHE_DIR: join(root, "cache") } });

    const bare = await cli("delete", name);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain(`Deleting every version of ${name} needs --all`);
    expect(bare.stderr).toContain(`quilt delete ${name}@HASH`);

    const one = await cli("delete", `${name}:v2`, "--json");
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout)).toMatchObject({ scope: "tag", topHash: h2, deleted: ["v2"] });

    const version = await cli("delete", `${name}@${h1.slice(0, 8)}`);
    expect(version.code).toBe(0);
    expect(version.stdout).toContain(`Deleted version ${h1.slice(0, 9)} of ${name} (1700000001, v1)`);

    const all = await cli("delete", name, "--all");
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toContain(`Deleted ${name} (`);
    // No empty directory left behind for quilt3's listdir-based list_packages to report.
    expect(await readdir(join(registry, ".quilt", "named_packages"))).toEqual([]);
    expect(await quilt3View(registry, name).then((s) => s.listed)).toBe(false);
    expect(await listPackages({ registry, session: ctx })).not.toContain(name);
    const log = await cli("log", name);
    expect(log.code).toBe(4);
  });
});
