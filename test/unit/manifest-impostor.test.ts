// The manifest-cache poisoning attack, end to end through the library on local-directory
// registries: registry B holds an impostor of registry A's package (same top hash, physical
// keys pointing at other bytes of the same sizes). Browsing the impostor through the same
// cache must never make the real package (in memory or after a restart, and through the
// daemon's way of opening registries) use the impostor's physical keys, and the reverse.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Package, PackageBuilder, Session } from "../../src/index.js";
import { parseRegistryUrl } from "../../src/manifest/registry-url.js";
import { LocalStore } from "../../src/storage/local-store.js";
import { openRegistry, Stores } from "../../src/storage/stores.js";
import type { TopHash } from "../../src/types.js";
import { plantImpostor, type Impostor } from "../helpers/impostor.js";

const NAME = "team/dataset";
const MIB = 1024 * 1024;
/** Small files (under one 8 MiB chunk) are verified whole by the data cache, so only the manifest is on trial. */
const FILES: Record<string, Buffer> = {
  "README.md": Buffer.from("# The real dataset\n"),
  "data/train.csv": Buffer.from("x,y\n1,2\n3,4\n"),
  "data/été 😀.bin": Buffer.from(Array.from({ length: MIB + 7 }, (_, i) => (i * 31) % 251)),
};

let root: string;
let registryA: string;
let registryB: string;
let topHash: TopHash;
let impostor: Impostor;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "quilt-impostor-"));
  registryA = join(root, "registry-a");
  registryB = join(root, "registry-b");
  const src = join(root, "src");
  for (const [key, bytes] of Object.entries(FILES)) {
    mkdirSync(join(src, key, ".."), { recursive: true });
    writeFileSync(join(src, key), bytes);
  }
  // Built with its own cache, so the caches under test start empty.
  const builder = new Session({ cacheDir: join(root, "build-cache"), env: { HOME: root } });
  const b = new PackageBuilder(NAME, { registry: registryA, session: builder });
  await b.add(src, "");
  topHash = (await b.pushDataAndManifest({ tag: "v1" })).hash;
  await builder.close();
  const store = new LocalStore();
  impostor = await plantImpostor({
    source: { registry: registryA, store },
    name: NAME,
    topHash,
    target: { registry: registryB, store },
    tag: "v1",
  });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

function context(cacheDir: string): Session {
  return new Session({ cacheDir, env: { HOME: root } });
}

/** Every entry lives in registry A's directory, and reads back as A's bytes. */
async function expectReal(pkg: Package): Promise<void> {
  expect(pkg.hash).toBe(topHash);
  for (const e of pkg) {
    expect(e.physicalKey.startsWith(`file://${registryA}/`), `${e.logicalKey} -> ${e.physicalKey}`).toBe(
      true,
    );
  }
  for (const [key, bytes] of Object.entries(FILES)) {
    expect((await pkg.getContents(key)).equals(bytes), `bytes of ${key}`).toBe(true);
  }
}

function expectImpostor(pkg: Package): void {
  expect(pkg.hash).toBe(topHash);
  for (const e of pkg)
    expect(e.physicalKey, e.logicalKey).toBe(impostor.objects.get(e.logicalKey)?.physicalKey.toString());
}

describe("the fixture", () => {
  it("the impostor has the real top hash, and each of its entries other bytes of the same size", () => {
    expect(impostor.manifest.topHash).toBe(topHash);
    expect([...impostor.objects.keys()].sort()).toEqual(Object.keys(FILES).sort());
    for (const [key, { bytes, physicalKey }] of impostor.objects) {
      const real = FILES[key] as Buffer;
      expect(bytes.length).toBe(real.length);
      expect(bytes.equals(real)).toBe(false);
      expect(physicalKey.toString().startsWith(`file://${registryB}/`)).toBe(true);
    }
  });
});

describe("a manifest cached for one registry is never used for another", () => {
  it("browsing the impostor first does not change what the real package reads (one context)", async () => {
    const ctx = context(join(mkdtempSync(join(root, "c-")), "cache"));
    const fake = await Package.browse(`${NAME}:v1`, { registry: registryB, session: ctx });
    expectImpostor(fake);
    // Its bytes do not match its hashes, so reading them is refused and nothing is cached.
    for (const key of Object.keys(FILES))
      await expect(fake.getContents(key), key).rejects.toMatchObject({ code: "EHASHMISMATCH" });
    await expectReal(await Package.browse(`${NAME}:v1`, { registry: registryA, session: ctx }));
    expectImpostor(await Package.browse(NAME, { registry: registryB, session: ctx }));
    await ctx.close();
  });

  it("the reverse order: the real package first, then the impostor keeps its own keys", async () => {
    const ctx = context(join(mkdtempSync(join(root, "c-")), "cache"));
    await expectReal(await Package.browse(NAME, { registry: registryA, session: ctx }));
    expectImpostor(await Package.browse(NAME, { registry: registryB, session: ctx }));
    await expectReal(await Package.browse(NAME, { registry: registryA, session: ctx }));
    await ctx.close();
  });

  it("a fresh context on the same cache directory (the disk cache) keeps them apart too", async () => {
    const cacheDir = join(mkdtempSync(join(root, "c-")), "cache");
    const first = context(cacheDir);
    expectImpostor(await Package.browse(NAME, { registry: registryB, session: first }));
    await first.close();
    const second = context(cacheDir);
    await expectReal(await Package.browse(NAME, { registry: registryA, session: second }));
    await second.close();
    const third = context(cacheDir);
    expectImpostor(await Package.browse(NAME, { registry: registryB, session: third }));
    await third.close();
  });

  it("the daemon's way (a registry opened per request on a shared manifests directory) keeps them apart", async () => {
    const dir = join(mkdtempSync(join(root, "c-")), "manifests");
    const stores = new Stores();
    const load = (registry: string) =>
      openRegistry(parseRegistryUrl(registry), stores, { manifestCacheDir: dir }).loadManifest({
        name: NAME,
        topHash,
        layout: "v1",
      });
    const fake = await load(registryB);
    expect(fake.entries.map((e) => e.physicalKey.toString())).toEqual(
      impostor.manifest.entries.map((e) => e.physicalKey.toString()),
    );
    const real = await load(registryA);
    for (const e of real.entries)
      expect(e.physicalKey.toString().startsWith(`file://${registryA}/`), e.logicalKey).toBe(true);
    await stores.close();
  });
});
