// Round trips with the real quilt3 client through local (file://) registries: a package
// quilt3 builds into its default local registry is found here through our default-registry
// logic with the same top hash and bytes, and a package we write into a registry directory
// is browsed, verified and installed by quilt3.
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parseJson } from "../../src/manifest/json-parse.js";
import type { JsonValue } from "../../src/manifest/json-value.js";
import { Manifest } from "../../src/manifest/manifest.js";
import { serializeManifest } from "../../src/manifest/manifest-writer.js";
import { parsePackageSpec } from "../../src/manifest/package-spec.js";
import { PhysicalKey } from "../../src/manifest/physical-key.js";
import { defaultLocalRegistryDir } from "../../src/manifest/registry-url.js";
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
  writeFixtureDir,
  type Quilt3Entry,
} from "../helpers/package-fixtures.js";
import { quilt3Home, runQuilt3Json } from "../helpers/quilt3.js";
import { uniquePrefix } from "../helpers/s3.js";

const stores = new Stores();

afterAll(async () => {
  await stores.close();
  removeTempDirs();
});

const DIR_META_TEXT = '{"kind": "directory", "ratio": 3.0, "n": 12345678901234567890}';

describe("quilt3 builds into its local registry, we read", () => {
  it("finds the package in quilt3's default local registry with the same top hash and bytes", async () => {
    const home = quilt3Home();
    const files = fixtureFiles(uniquePrefix("local"));
    const dir = writeFixtureDir(files);
    const name = "ns/local";
    const message = "built by quilt3 into its local registry";
    const out = await runQuilt3Json<{ top_hash: string; registry: string }>(
      QUILT3_PRELUDE +
        `from quilt3.util import get_from_config
with contextlib.redirect_stdout(sys.stderr):
    pkg = Package()
    pkg.set_dir("/", A["dir"])
    pkg.set_dir("données", os.path.join(A["dir"], "données"), meta=json.loads(A["dirMeta"]))
    for lk, text in A["entryMeta"].items():
        pkg.set(lk, os.path.join(A["dir"], *lk.split("/")), meta=json.loads(text))
    pkg.set_meta(json.loads(A["packageMeta"]))
    top = pkg.build(A["name"], message=A["message"])
print(json.dumps({"top_hash": top, "registry": get_from_config("default_local_registry")}))`,
      {
        dir,
        name,
        message,
        entryMeta: ENTRY_META_TEXT,
        packageMeta: PACKAGE_META_TEXT,
        dirMeta: DIR_META_TEXT,
      },
      { home },
    );
    const top = out.top_hash;
    expect(top).toMatch(/^[0-9a-f]{64}$/);

    // The same HOME (and XDG_DATA_HOME as the helper sets it, or unset) leads us to quilt3's registry.
    const xdgEnv = { HOME: home, XDG_DATA_HOME: join(home, ".local", "share") };
    const spec = parsePackageSpec(name, { env: xdgEnv });
    expect(spec.registry.kind).toBe("file");
    expect(spec.registry.url).toBe(out.registry);
    expect(parsePackageSpec(name, { env: { HOME: home } }).registry).toEqual(spec.registry);
    const registryDir = defaultLocalRegistryDir(xdgEnv);
    expect(spec.registry).toMatchObject({ dir: registryDir });

    const reg = openRegistry(spec.registry, stores, { manifestCacheDir: tempDir("quilt-mcache-") });
    const resolved = await reg.resolve(spec.name);
    expect(resolved.topHash).toBe(top);
    const manifest = await reg.loadManifest(resolved);
    expect(manifest.topHash).toBe(top);
    const stored = readFileSync(join(registryDir, ".quilt", "packages", top));
    expect(serializeManifest(manifest).toString("utf8")).toBe(stored.toString("utf8"));

    expect(manifest.message).toBe(message);
    expectMetaEqual(manifest.userMeta, parseJson(PACKAGE_META_TEXT), "package metadata");
    // quilt3 writes a directory's user metadata as the line's "meta" itself (no user_meta wrapper).
    expectMetaEqual(manifest.dirMeta.get("données/") ?? null, parseJson(DIR_META_TEXT), "directory metadata");
    for (const [lk, text] of Object.entries(ENTRY_META_TEXT))
      expectMetaEqual(entryUserMeta(manifest, lk), parseJson(text), `meta of ${lk}`);
    // build() leaves local files where they are: every physical key is the fixture file itself.
    for (const f of files) {
      const pk = manifest.get(f.logicalKey)?.physicalKey;
      expect(pk?.isLocal(), `${f.logicalKey} is local`).toBe(true);
      expect(pk?.path).toBe(join(dir, ...f.logicalKey.split("/")));
    }
    await expectEntriesMatchFixtures(manifest, stores, files);

    expect((await reg.resolve(name, { hash: top.slice(0, 10) })).topHash).toBe(top);
    const versions = await reg.listVersions(name);
    expect(versions.map((v) => v.topHash)).toEqual([top]);
    expect(versions[0]?.pointers.filter((p) => /^\d+$/.test(p))).toHaveLength(1);
    expect(versions[0]?.pointers).toContain("latest");
    expect(await reg.listPackages()).toEqual([name]);
  });
});

describe("we write a local registry, quilt3 reads", () => {
  it("browses, verifies and installs our package, and finds our layout where it expects it", async () => {
    const salt = uniquePrefix("ourlocal");
    const files = fixtureFiles(salt);
    const dir = writeFixtureDir(files);
    // A registry path and a package name that need percent-encoding and Unicode-aware matching.
    const registryDir = join(tempDir("quilt-registry-"), "my régistry+dir");
    mkdirSync(registryDir);
    const registryUrl = pathToFileURL(registryDir).href;
    const name = `ns/données_${salt}`;
    const spec = parsePackageSpec(`${registryUrl}/${name}`);
    expect(spec.registry).toEqual({ kind: "file", dir: registryDir, url: registryUrl });
    expect(spec.name).toBe(name);

    const built = await buildManifest(dir, files, (lk) => PhysicalKey.local(join(dir, ...lk.split("/"))), {
      message: `written by quilt-ts as ${name}`,
      entryMeta: ENTRY_META_TEXT,
      packageMeta: PACKAGE_META_TEXT,
    });
    // Add directory metadata, quilt3-style (the meta object is the directory's user metadata).
    const manifest = Manifest.create({
      header: built.header,
      dirMeta: new Map<string, JsonValue>([["données/", parseJson(DIR_META_TEXT)]]),
      entries: built.entries,
    });
    const reg = openRegistry(spec.registry, stores, { manifestCacheDir: tempDir("quilt-mcache-") });
    const now = new Date();
    const pushed = await reg.pushManifest(name, manifest, { tag: "v0", now });
    const top = manifest.topHash;
    expect(pushed.topHash).toBe(top);

    // The manifest at .quilt/packages/<hash>; pointers hold the bare hash, no newline.
    expect(
      readFileSync(join(registryDir, ".quilt", "packages", top)).equals(serializeManifest(manifest)),
    ).toBe(true);
    const pointerDir = join(registryDir, ".quilt", "named_packages", ...name.split("/"));
    const stamp = String(Math.floor(now.getTime() / 1000));
    expect(readdirSync(pointerDir).sort()).toEqual([stamp, "latest", "v0"].sort());
    for (const p of readdirSync(pointerDir)) {
      expect(
        readFileSync(join(pointerDir, p)).equals(Buffer.from(top, "ascii")),
        `pointer ${p} holds exactly the hash`,
      ).toBe(true);
    }

    const installDir = join(tempDir("quilt-install-"), "out");
    const seen = await runQuilt3Json<{
      top_hash: string;
      prefix_top_hash: string;
      versions: [string, string][];
      message: string;
      package_meta: string;
      dir_meta: string;
      dump: string;
      entries: Record<string, Quilt3Entry>;
      verify_fixtures: boolean;
      verify_install: boolean;
      verify_tampered: boolean;
    }>(
      QUILT3_PRELUDE +
        `with contextlib.redirect_stdout(sys.stderr):
    p = Package.browse(A["name"], registry=A["registry"])
    OUT["top_hash"] = p.top_hash
    OUT["prefix_top_hash"] = Package.browse(A["name"], registry=A["registry"], top_hash=A["prefix"]).top_hash
    OUT["versions"] = [[v, h] for v, h in quilt3.list_package_versions(A["name"], registry=A["registry"])]
    OUT["message"] = p._meta.get("message")
    OUT["package_meta"] = json.dumps(p.meta)
    OUT["dir_meta"] = json.dumps(p["données"].meta)
    OUT["dump"] = dump(p)
    OUT["entries"] = entries(p)
    OUT["verify_fixtures"] = p.verify(A["fixture_dir"])
    Package.install(A["name"], registry=A["registry"], dest=A["install_dir"])
    OUT["verify_install"] = p.verify(A["install_dir"])
    # Same size, one byte different: verify must notice.
    target = os.path.join(A["install_dir"], "README.md")
    with open(target, "r+b") as f:
        first = f.read(1)
        f.seek(0)
        f.write(bytes([first[0] ^ 1]))
    OUT["verify_tampered"] = p.verify(A["install_dir"])
print(json.dumps(OUT))`,
      { name, registry: registryUrl, prefix: top.slice(0, 10), fixture_dir: dir, install_dir: installDir },
    );
    expect(seen.top_hash).toBe(top);
    expect(seen.prefix_top_hash).toBe(top);
    expect(new Map(seen.versions)).toEqual(
      new Map([
        ["v0", top],
        ["latest", top],
        [stamp, top],
      ]),
    );
    expect(seen.message).toBe(manifest.message);
    expectMetaEqual(parseJson(seen.dir_meta), parseJson(DIR_META_TEXT), "quilt3's directory meta");
    expectQuilt3SeesManifest(seen, manifest);
    expect(seen.verify_fixtures).toBe(true);
    expect(seen.verify_install).toBe(true);
    expect(seen.verify_tampered).toBe(false);
    // Installed files equal the fixtures, except the byte flipped after verifying.
    const installed = readTree(installDir);
    const readme = installed.get("README.md") as Buffer;
    readme[0] = (readme[0] as number) ^ 1;
    expectTreeEqualsFixtures(installed, files);
    // Our physical keys are the file:// URLs of the fixtures, percent-encoded as quilt3 writes them.
    expect(seen.entries["😀.txt"]?.physical_key).toBe(pathToFileURL(join(dir, "😀.txt")).href);
  });
});
