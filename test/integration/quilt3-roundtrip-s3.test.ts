// Round trips with the real quilt3 client through an S3 registry (the run's moto server):
// a package quilt3 pushes is read here with the same top hash, bytes and metadata, and a
// package pushed here is browsed, listed, fetched, installed and verified by quilt3.
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseJson } from "../../src/manifest/json-parse.js";
import { toPlain } from "../../src/manifest/json-value.js";
import type { Manifest } from "../../src/manifest/manifest.js";
import { serializeManifest } from "../../src/manifest/manifest-writer.js";
import { parsePackageSpec } from "../../src/manifest/package-spec.js";
import { PhysicalKey } from "../../src/manifest/physical-key.js";
import { parseRegistryUrl } from "../../src/manifest/registry-url.js";
import type { Registry } from "../../src/storage/registry.js";
import { openRegistry, Stores } from "../../src/storage/stores.js";
import {
  buildManifest,
  ENTRY_META_TEXT,
  entryUserMeta,
  expectEntriesMatchFixtures,
  expectMetaEqual,
  expectQuilt3SeesManifest,
  expectTreeEqualsFixtures,
  fixtureFiles,
  PACKAGE_META_TEXT,
  QUILT3_PRELUDE,
  readTree,
  removeTempDirs,
  tempDir,
  uploadFixtures,
  writeFixtureDir,
  type FixtureFile,
  type Quilt3Entry,
} from "../helpers/package-fixtures.js";
import { runQuilt3Json } from "../helpers/quilt3.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";

const env = s3TestEnv();
const REGISTRY = `s3://${env.bucket}`;
const stores = new Stores({ endpoint: env.endpoint, forcePathStyle: true });

afterAll(async () => {
  await stores.close();
  removeTempDirs();
});

/** A registry with its own on-disk manifest cache, so every test fetches from S3 first. */
function registry(): Registry {
  return openRegistry(parseRegistryUrl(REGISTRY), stores, { manifestCacheDir: tempDir("quilt-mcache-") });
}

describe("quilt3 pushes to S3, we read", () => {
  it("reads the same top hash, bytes and metadata, by latest, hash prefix and timestamp", async () => {
    const files = fixtureFiles(uniquePrefix("q3push"));
    const dir = writeFixtureDir(files);
    const name = `q3rt/${uniquePrefix("q3push")}`;
    const message = `pushed by quilt3 as ${name}`;
    const out = await runQuilt3Json<{ top_hash: string }>(
      QUILT3_PRELUDE +
        `with contextlib.redirect_stdout(sys.stderr):
    pkg = Package()
    pkg.set_dir("/", A["dir"])
    for lk, text in A["entryMeta"].items():
        pkg.set(lk, os.path.join(A["dir"], *lk.split("/")), meta=json.loads(text))
    pkg.set_meta(json.loads(A["packageMeta"]))
    pushed = pkg.push(A["name"], registry=A["registry"], message=A["message"], force=True)
print(json.dumps({"top_hash": pushed.top_hash}))`,
      { dir, name, registry: REGISTRY, message, entryMeta: ENTRY_META_TEXT, packageMeta: PACKAGE_META_TEXT },
      { env: env.env },
    );
    const top = out.top_hash;
    expect(top).toMatch(/^[0-9a-f]{64}$/);

    const spec = parsePackageSpec(`${REGISTRY}/${name}`);
    expect(spec.registry).toEqual({ kind: "s3", bucket: env.bucket, url: REGISTRY });
    expect(spec.name).toBe(name);
    const reg = registry();
    const resolved = await reg.resolve(spec.name);
    expect(resolved.topHash).toBe(top);
    const manifest = await reg.loadManifest(resolved);
    expect(manifest.topHash).toBe(top);

    // Our rewrite of quilt3's manifest is byte-identical to the object quilt3 stored.
    const stored = await stores.s3().get({ bucket: env.bucket, key: `.quilt/packages/${top}` });
    expect(serializeManifest(manifest).toString("utf8")).toBe(stored.toString("utf8"));

    expect(manifest.message).toBe(message);
    expectMetaEqual(manifest.userMeta, parseJson(PACKAGE_META_TEXT), "package metadata");
    for (const [lk, text] of Object.entries(ENTRY_META_TEXT))
      expectMetaEqual(entryUserMeta(manifest, lk), parseJson(text), `meta of ${lk}`);
    for (const f of files) {
      const e = manifest.get(f.logicalKey);
      if (!(f.logicalKey in ENTRY_META_TEXT))
        expect(toPlain(e?.meta ?? null), `meta of ${f.logicalKey}`).toEqual({});
      // quilt3 copied each file to <registry>/<name>/<logical key>, pinned to its version.
      expect(e?.physicalKey.bucket).toBe(env.bucket);
      expect(e?.physicalKey.path).toBe(`${name}/${f.logicalKey}`);
      expect(e?.physicalKey.versionId, `versionId of ${f.logicalKey}`).toBeTruthy();
    }
    await expectEntriesMatchFixtures(manifest, stores, files);

    // A 10-character hash prefix, through the spec parser.
    const byPrefix = parsePackageSpec(`${REGISTRY}/${name}@${top.slice(0, 10)}`);
    expect(byPrefix.hash).toBe(top.slice(0, 10));
    expect((await reg.resolve(byPrefix.name, { hash: byPrefix.hash as string })).topHash).toBe(top);

    // The timestamp pointer quilt3 wrote next to `latest`.
    const versions = await reg.listVersions(name);
    expect(versions).toHaveLength(1);
    const [version] = versions;
    expect(version?.topHash).toBe(top);
    const stamps = (version?.pointers ?? []).filter((p) => /^\d+$/.test(p));
    expect(stamps).toHaveLength(1);
    expect([...(version?.pointers ?? [])].sort()).toEqual([stamps[0], "latest"].sort());
    expect(version?.tags).toEqual([]);
    expect(Math.abs((version?.time?.getTime() ?? 0) - Date.now())).toBeLessThan(10 * 60_000);
    const byStamp = parsePackageSpec(`${REGISTRY}/${name}:${stamps[0]}`);
    expect((await reg.resolve(byStamp.name, { tag: byStamp.tag as string })).topHash).toBe(top);

    expect(await reg.listPackages()).toContain(name);
  });
});

describe("we push to S3, quilt3 reads", () => {
  it("browses, lists, fetches, installs and verifies our package with our metadata", async () => {
    const salt = uniquePrefix("ourpush");
    const files = fixtureFiles(salt);
    const dir = writeFixtureDir(files);
    // A Unicode package name: quilt3's [\w-]+ accepts it, and S3 keys and listings must carry it.
    const name = `q3rt/été_${salt}`;
    const prefix = `${salt}-data`;
    const versions = await uploadFixtures(stores.s3(), env.bucket, prefix, dir, files);
    const manifest = await buildManifest(
      dir,
      files,
      (lk) => PhysicalKey.s3(env.bucket, `${prefix}/${lk}`, versions.get(lk) as string),
      {
        message: `pushed by quilt-ts as ${name}`,
        entryMeta: ENTRY_META_TEXT,
        packageMeta: PACKAGE_META_TEXT,
      },
    );
    const reg = registry();
    const pushed = await reg.pushManifest(name, manifest, { tag: "v0" });
    expect(pushed.topHash).toBe(manifest.topHash);
    expect(pushed.url).toBe(`${REGISTRY}/.quilt/packages/${manifest.topHash}`);
    const top = manifest.topHash;

    const fetchDir = join(tempDir("quilt-fetch-"), "out");
    const installDir = join(tempDir("quilt-install-"), "out");
    const seen = await runQuilt3Json<{
      top_hash: string;
      prefix_top_hash: string;
      versions: [string, string][];
      message: string;
      package_meta: string;
      dump: string;
      entries: Record<string, Quilt3Entry>;
      verify_fetch: boolean;
      verify_install: boolean;
    }>(
      QUILT3_PRELUDE +
        `with contextlib.redirect_stdout(sys.stderr):
    p = Package.browse(A["name"], registry=A["registry"])
    OUT["top_hash"] = p.top_hash
    OUT["prefix_top_hash"] = Package.browse(A["name"], registry=A["registry"], top_hash=A["prefix"]).top_hash
    OUT["versions"] = [[v, h] for v, h in quilt3.list_package_versions(A["name"], registry=A["registry"])]
    OUT["message"] = p._meta.get("message")
    OUT["package_meta"] = json.dumps(p.meta)
    OUT["dump"] = dump(p)
    OUT["entries"] = entries(p)
    p.fetch(A["fetch_dir"])
    OUT["verify_fetch"] = p.verify(A["fetch_dir"])
    Package.install(A["name"], registry=A["registry"], dest=A["install_dir"])
    OUT["verify_install"] = p.verify(A["install_dir"])
print(json.dumps(OUT))`,
      { name, registry: REGISTRY, prefix: top.slice(0, 10), fetch_dir: fetchDir, install_dir: installDir },
      { env: env.env },
    );
    expect(seen.top_hash).toBe(top);
    expect(seen.prefix_top_hash).toBe(top);
    const pointers = new Map(seen.versions);
    expect(pointers.get("v0")).toBe(top);
    expect(pointers.get("latest")).toBe(top);
    const stamps = seen.versions.filter(([v]) => /^\d+$/.test(v));
    expect(stamps).toHaveLength(1);
    expect(stamps[0]?.[1]).toBe(top);
    expect(seen.versions).toHaveLength(3);
    expect(seen.message).toBe(manifest.message);
    expectQuilt3SeesManifest(seen, manifest);
    expect(seen.verify_fetch).toBe(true);
    expect(seen.verify_install).toBe(true);
    expectTreeEqualsFixtures(readTree(fetchDir), files);
    expectTreeEqualsFixtures(readTree(installDir), files);
  });

  it("moves a tag on a second push and keeps the first version readable, pinned to its object versions", async () => {
    const salt = uniquePrefix("retag");
    const name = `q3rt/${salt}`;
    const prefix = `${salt}-data`;
    const text = (s: string): Buffer => Buffer.from(s, "utf8");
    const first: FixtureFile[] = [
      { logicalKey: "a.txt", bytes: text(`first version of a ${salt}\n`) },
      { logicalKey: "keep/b.txt", bytes: text("unchanged\n") },
    ];
    // Same keys in S3, new contents: the first manifest must still name the old object versions.
    const second: FixtureFile[] = [
      { logicalKey: "a.txt", bytes: text(`second, longer version of a ${salt}\n`) },
      { logicalKey: "keep/b.txt", bytes: text("unchanged\n") },
      { logicalKey: "new.txt", bytes: text("added in the second version\n") },
    ];
    const reg = registry();
    const push = async (
      files: FixtureFile[],
      now: Date,
    ): Promise<{ manifest: Manifest; versions: Map<string, string> }> => {
      const dir = writeFixtureDir(files);
      const versions = await uploadFixtures(stores.s3(), env.bucket, prefix, dir, files);
      const manifest = await buildManifest(
        dir,
        files,
        (lk) => PhysicalKey.s3(env.bucket, `${prefix}/${lk}`, versions.get(lk) as string),
        {
          message: `${name} at ${now.toISOString()}`,
        },
      );
      await reg.pushManifest(name, manifest, { tag: "v0", now });
      return { manifest, versions };
    };
    // Two minutes apart, so each push has its own timestamp pointer.
    const t1 = new Date(Date.now() - 120_000);
    const t2 = new Date();
    const v1 = await push(first, t1);
    const v2 = await push(second, t2);
    const h1 = v1.manifest.topHash;
    const h2 = v2.manifest.topHash;
    expect(h2).not.toBe(h1);
    expect(v2.versions.get("a.txt")).not.toBe(v1.versions.get("a.txt"));

    // Our side: the tag moved, the old manifest is still there.
    expect((await reg.resolve(name, { tag: "v0" })).topHash).toBe(h2);
    expect((await reg.resolve(name)).topHash).toBe(h2);
    expect(
      (await stores.s3().get({ bucket: env.bucket, key: `.quilt/named_packages/${name}/v0` })).toString(
        "latin1",
      ),
    ).toBe(h2);
    const old = await reg.loadManifest(await reg.resolve(name, { hash: h1.slice(0, 10) }));
    expect(old.topHash).toBe(h1);
    await expectEntriesMatchFixtures(old, stores, first);
    const listed = await reg.listVersions(name);
    expect(listed.map((v) => v.topHash)).toEqual([h2, h1]);
    expect(listed[0]?.tags).toEqual(["v0"]);
    expect(listed[1]?.tags).toEqual([]);
    expect(listed[1]?.pointers).toEqual([String(Math.floor(t1.getTime() / 1000))]);

    const d1 = join(tempDir("quilt-v1-"), "out");
    const d2 = join(tempDir("quilt-v2-"), "out");
    const seen = await runQuilt3Json<{
      latest: string;
      old: string;
      versions: [string, string][];
      verify1: boolean;
      verify2: boolean;
    }>(
      QUILT3_PRELUDE +
        `with contextlib.redirect_stdout(sys.stderr):
    latest = Package.browse(A["name"], registry=A["registry"])
    old = Package.browse(A["name"], registry=A["registry"], top_hash=A["h1"])
    OUT["latest"] = latest.top_hash
    OUT["old"] = old.top_hash
    OUT["versions"] = [[v, h] for v, h in quilt3.list_package_versions(A["name"], registry=A["registry"])]
    old.fetch(A["d1"])
    latest.fetch(A["d2"])
    OUT["verify1"] = old.verify(A["d1"])
    OUT["verify2"] = latest.verify(A["d2"])
print(json.dumps(OUT))`,
      { name, registry: REGISTRY, h1, d1, d2 },
      { env: env.env },
    );
    expect(seen.latest).toBe(h2);
    expect(seen.old).toBe(h1);
    expect(new Map(seen.versions)).toEqual(
      new Map([
        ["v0", h2],
        ["latest", h2],
        [String(Math.floor(t1.getTime() / 1000)), h1],
        [String(Math.floor(t2.getTime() / 1000)), h2],
      ]),
    );
    expect(seen.verify1).toBe(true);
    expect(seen.verify2).toBe(true);
    expectTreeEqualsFixtures(readTree(d1), first);
    expectTreeEqualsFixtures(readTree(d2), second);
  });
});
