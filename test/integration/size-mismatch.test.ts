// A manifest whose entries give other sizes than their objects have (smaller, larger, and
// 2^53-1, which install once showed as "8192 TiB"), in a local registry and on moto: every
// reader (install, force-match, getBytes, cat, the mount and its verify) gives one clear
// error per entry naming the object and both sizes, and ends. Before, install accepted an
// object of another size whose sha2-256-chunked hash matched, verify then called the file
// modified and force-match "replaced" it with the same bytes, forever.
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Package, Session } from "../../src/index.js";
import { isQuiltError } from "../../src/errors.js";
import { LocalStore } from "../../src/storage/local-store.js";
import { createS3Store } from "../../src/storage/s3-store.js";
import type { ObjectStore } from "../../src/storage/object-store.js";
import { runCli } from "../helpers/cli.js";
import { DaemonSandbox } from "../helpers/daemon-harness.js";
import { errnoOf, pseudoRandomBytes, publishFiles, readAt } from "../helpers/daemon-fixtures.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";
import { pushWithWrongSizes } from "../helpers/wrong-sizes.js";

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`Skipping the mount part of the size-mismatch tests: ${unavailable}`);

const s3 = s3TestEnv();
const MiB = 1024 * 1024;
const FILES: Record<string, Buffer> = {
  "ok.txt": Buffer.from("fine\n"),
  "short.bin": pseudoRandomBytes(3000, "short"),
  "long.bin": pseudoRandomBytes(3000, "long"),
  "absurd.bin": Buffer.from("hello world!"),
  // Past the ranged-download threshold: the object is looked at (HEAD) before it is read.
  "big.bin": pseudoRandomBytes(8 * MiB + 100, "big"),
};
/** Wrong sizes: smaller and larger than the objects, and the largest the parser accepts. */
const SIZES: Record<string, number> = {
  "short.bin": 2000,
  "long.bin": 4000,
  "absurd.bin": Number.MAX_SAFE_INTEGER,
  "big.bin": 8 * MiB + 50,
};
const BAD = Object.keys(SIZES).sort();

/** The size error for `key` as the user sees it: object, manifest size, object size. */
const sizeError = (key: string) =>
  new RegExp(
    `/${key.replace(".", "\\.")}(\\?versionId=\\S+)?: the manifest says ${SIZES[key]} bytes, the object has ${(FILES[key] as Buffer).length}; the package is inconsistent`,
    "g",
  );

function expectOneErrorPerEntry(text: string): void {
  for (const key of BAD) expect(text.match(sizeError(key))?.length ?? 0, `${key} in:\n${text}`).toBe(1);
  expect(text).not.toMatch(/^\s+at /m);
}

interface Setup {
  label: string;
  registry: string;
  env: Record<string, string>;
  store: () => ObjectStore;
}

const roots: string[] = [];
const setups: Setup[] = [
  {
    label: "moto",
    registry: `s3://${s3.bucket}`,
    env: s3.env,
    store: () => createS3Store({ endpoint: s3.endpoint }),
  },
  { label: "local registry", registry: "", env: {}, store: () => new LocalStore() },
];

afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

describe.each(setups)("entries whose size disagrees with their object ($label)", (setup) => {
  const salt = uniquePrefix("size");
  const name = `${salt}/pkg`;
  let root: string;
  let env: Record<string, string>;
  const cli = (args: string[]) => runCli([...args, "--registry", setup.registry], { env });

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "quilt-size-"));
    roots.push(root);
    if (setup.registry === "") setup.registry = join(root, "registry");
    env = { ...setup.env, QUILT_CACHE_DIR: join(root, "cache"), QUILT_STATE_DIR: join(root, "state") };
    const { topHash } = await publishFiles(s3.endpoint, setup.registry, name, FILES, {
      prefix: `${salt}-data/`,
      tag: "good",
    });
    const store = setup.store();
    await pushWithWrongSizes({ registry: setup.registry, store }, name, topHash, SIZES, "bad");
    await store.close();
  });

  it("install fails with one error per entry, installs the rest, and force-match ends with the same errors", async () => {
    const dest = join(root, "dest");
    const install = await cli(["install", `${name}:bad`, "--dest", dest]);
    expect(install.code, install.stderr).toBe(5);
    expectOneErrorPerEntry(install.stderr);
    expect(install.stderr).toMatch(/^hint: .*force-match cannot fix it/m);
    expect(await readFile(join(dest, "ok.txt"))).toEqual(FILES["ok.txt"]);
    for (const key of BAD) expect(await errnoOf(stat(join(dest, key)))).toBe("ENOENT");
    // What the old install left: the object's bytes under the key. Verify calls it modified;
    // force-match cannot make it right and says why, every time, instead of "replacing" it.
    await writeFile(join(dest, "short.bin"), FILES["short.bin"] as Buffer);
    const verify = await runCli(["verify", dest], { env });
    expect(verify.code).toBe(1);
    expect(verify.stdout + verify.stderr).toMatch(/short\.bin exists locally, but contents do not match/);
    for (let round = 0; round < 2; round++) {
      const force = await runCli(["force-match", dest], { env });
      expect(force.code, force.stdout + force.stderr).toBe(5);
      expectOneErrorPerEntry(force.stderr);
      expect(force.stdout).not.toMatch(/replaced|added/);
    }
  });

  it("getBytes and cat refuse each such entry with the size error", async () => {
    const ctx = new Session({ cacheDir: join(root, "lib-cache"), s3: { endpoint: s3.endpoint } });
    try {
      const pkg = await Package.browse(`${name}:bad`, { registry: setup.registry, session: ctx });
      expect((await pkg.getContents("ok.txt")).equals(FILES["ok.txt"] as Buffer)).toBe(true);
      for (const key of BAD) {
        const err = await pkg.getContents(key).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isQuiltError(err, "EHASHMISMATCH"), `${key}: ${String(err)}`).toBe(true);
        expect((err as Error).message).toMatch(sizeError(key));
      }
    } finally {
      await ctx.close();
    }
    const cat = await cli(["cat", `${name}:bad`, "long.bin"]);
    expect(cat.code).toBe(5);
    expect(cat.stdout).toBe("");
    expect(cat.stderr).toMatch(sizeError("long.bin"));
  });

  it.skipIf(unavailable !== null)(
    "a mount keeps the manifest's sizes, fails reads of such files with EIO, and its verify and force-match end",
    async () => {
      const box = await DaemonSandbox.create("size", { endpoint: s3.endpoint });
      try {
        const mnt = await box.mountDir();
        await box.mount(`${name}:bad`, mnt, setup.registry);
        expect(await readFile(join(mnt, "ok.txt"))).toEqual(FILES["ok.txt"]);
        for (const key of BAD) expect((await stat(join(mnt, key))).size).toBe(SIZES[key]);
        // Verify fetches what is not cached and finds each such object, once.
        const fresh = await box.cli(["verify", mnt]);
        expect(fresh.code).toBe(1);
        expectOneErrorPerEntry(fresh.stdout + fresh.stderr);
        for (const key of BAD) {
          // Twice: the second read fails the same way, and is not logged again.
          for (let i = 0; i < 2; i++)
            expect(await errnoOf(readAt(join(mnt, key), 0, 64 * 1024)), key).toBe("EIO");
        }
        const log = (await readFile(box.logFile, "utf8")).split("\n");
        for (const key of BAD)
          expect(log.filter((line) => sizeError(key).test(line)).length, `${key} in the daemon log`).toBe(1);
        // After the failed reads, verify still says why.
        const verify = await box.cli(["verify", mnt]);
        expect(verify.code).toBe(1);
        expectOneErrorPerEntry(verify.stdout + verify.stderr);
        const force = await box.cli(["force-match", mnt]);
        expect(force.code, force.stdout + force.stderr).not.toBe(0);
        expect(force.stdout + force.stderr).toMatch(sizeError("long.bin"));
      } finally {
        await box.cleanup();
      }
    },
  );
});
