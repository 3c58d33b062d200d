// USECASES.md "Command Line code samples", the builder transcript, replayed with the real
// `quilt` executable against the moto server: init, add a directory and an S3 prefix of
// another bucket, status, build-manifest, push-data --local-files-only, push-data,
// push-manifest -t v0, add/set, the local-files refusal, push-data, push-manifest, status.
// Every step checks what is printed and the exit status; at the end the package is
// browsed with the library and its contents compared byte for byte.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Package } from "../../src/index.js";
import { CliSession } from "../helpers/cli-builder.js";
import { runCli } from "../helpers/cli.js";
import { pseudoRandomBytes } from "../helpers/package-fixtures.js";
import { uniquePrefix } from "../helpers/s3.js";
import { cleanupAll, newContext, re, tempRoot, usecaseEnv, writeTree } from "../helpers/usecase-support.js";

const env = usecaseEnv();
afterAll(cleanupAll);

describe("quilt builder workflow on S3 (the USECASES.md transcript)", () => {
  it("init → add → status → build → push-data → push-manifest → add/set → refusal → push → status", async () => {
    const salt = uniquePrefix("clib");
    const name = `${salt}/dataset`;
    const bucket = env.bucket;
    const root = tempRoot("cli-builder-s3");
    const files: Record<string, Buffer> = {
      "ws/train2017/1.jpg": pseudoRandomBytes(3000, `${salt}-1`),
      "ws/train2017/2.jpg": pseudoRandomBytes(4000, `${salt}-2`),
      "ws/train2017/3.jpg": pseudoRandomBytes(5000, `${salt}-3`),
      "ws/train2017/4.jpg": pseudoRandomBytes(6000, `${salt}-4`),
      "ws/replacement/1.jpg": pseudoRandomBytes(3500, `${salt}-r`),
      "test2017/a.jpg": pseudoRandomBytes(1000, `${salt}-ta`),
      "test2017/b.jpg": pseudoRandomBytes(1100, `${salt}-tb`),
    };
    writeTree(root, files);
    const ws = join(root, "ws");
    // The validation images live in another bucket.
    const ctx = newContext(env.endpoint);
    const valPrefix = `${salt}/abc/validation/`;
    const valUrl = `s3://${env.otherBucket}/${valPrefix}`;
    const val: Record<string, Buffer> = {
      "v1.jpg": pseudoRandomBytes(2000, `${salt}-v1`),
      "v2.jpg": pseudoRandomBytes(2100, `${salt}-v2`),
    };
    for (const [k, body] of Object.entries(val))
      await ctx.stores.s3().put({ bucket: env.otherBucket, key: valPrefix + k }, body);

    const q = new CliSession(ws, env.env);
    const dataPrefix = `${salt}-data/dataset/v0/`;
    const dest = `s3://${bucket}/${dataPrefix}`;

    expect(await q.ok("init", name, "--registry", env.registry)).toBe(
      `New PackageBuilder ${name} created\nPushes go to s3://${bucket}\n`,
    );
    expect(await q.ok("add", "train2017/")).toMatch(
      new RegExp(
        `^Adding contents of directory \\./train2017/ to ${re(name)} as train2017/\\.\\.\\.\\nAdded 4 files\\n$`,
      ),
    );
    expect(await q.ok("add", "val2017/", valUrl)).toMatch(
      new RegExp(`^Adding objects in ${re(valUrl)} to ${re(name)} as val2017/\\.\\.\\.\\nAdded 2 files\\n$`),
    );

    let s = await q.status();
    expect(s.head).toBe(`PackageBuilder: ${name} (pre-manifest)`);
    expect(s.data).toEqual([
      ["train2017/", "./train2017/"],
      ["val2017/", valUrl],
    ]);

    const built = await runCli(["build-manifest"], {
      cwd: q.cwd,
      env: { ...q.env, QUILT_PROGRESS_DELAY_MS: "0" },
    });
    expect(built.code).toBe(0);
    const top1 = /^Building manifest\.\.\.\nTophash: ([0-9a-f]{64})\n$/.exec(built.stdout)?.[1] as string;
    expect(top1, built.stdout).toBeDefined();
    expect(built.stderr).toMatch(/^Hashing/m); // progress on stderr, never on stdout

    s = await q.status();
    expect(s.head).toBe(`PackageBuilder: ${name} (${top1.slice(0, 9)})`);
    expect(s.data).toEqual([
      ["train2017/", "./train2017/"],
      ["val2017/", valUrl],
    ]);

    expect(await q.ok("push-data", `--prefix=${dataPrefix}`, "--local-files-only")).toBe(
      `Pushing ./train2017/ to ${dest}train2017/...\n`,
    );
    s = await q.status();
    expect(s.head).toBe(`PackageBuilder: ${name} (${top1.slice(0, 9)})`);
    expect(s.data).toEqual([
      ["train2017/", `${dest}train2017/`],
      ["val2017/", valUrl],
    ]);

    // The local files are there now; the S3 ones are copied.
    expect((await q.ok("push-data", `--prefix=${dataPrefix}`)).split("\n").filter(Boolean)).toEqual([
      `Copying ${dest}train2017/ to ${dest}train2017/... (data exists, skipping)`,
      `Copying ${valUrl} to ${dest}val2017/...`,
    ]);
    s = await q.status();
    expect(s.head).toBe(`PackageBuilder: ${name} (${top1.slice(0, 9)})`);
    expect(s.data).toEqual([
      ["train2017/", `${dest}train2017/`],
      ["val2017/", `${dest}val2017/`],
    ]);

    const pushed = await q.ok("push-manifest", "-t", "v0");
    expect(pushed).toBe(
      `Pushing manifest to s3://${bucket}/.quilt/packages/${top1}\nLinking ${name}:v0 to manifest ${top1.slice(0, 9)}\n`,
    );
    s = await q.status();
    expect(s).toMatchObject({ head: `Package: ${name}:v0 (${top1.slice(0, 9)})`, matches: true });

    expect(await q.ok("add", "test2017/", "../test2017/")).toMatch(
      new RegExp(`^Adding contents of directory \\.\\./test2017/ to ${re(name)} as test2017/\\.\\.\\.\\n`),
    );
    s = await q.status();
    expect(s.head).toBe(`PackageBuilder: ${name} (pre-manifest)`);
    expect(s.data).toEqual([
      ["train2017/", `${dest}train2017/`],
      ["val2017/", `${dest}val2017/`],
      ["test2017/", "../test2017/"],
    ]);

    expect(await q.ok("set", "train2017/1.jpg", "./replacement/1.jpg")).toBe(
      "Setting logical key train2017/1.jpg as ./replacement/1.jpg\n",
    );
    s = await q.status();
    expect(s.head).toBe(`PackageBuilder: ${name} (pre-manifest)`);
    expect(s.data).toEqual([
      ["train2017/", `${dest}train2017/`],
      ["train2017/1.jpg", "./replacement/1.jpg"],
      ["val2017/", `${dest}val2017/`],
      ["test2017/", "../test2017/"],
    ]);

    // Local files: the manifest is refused and nothing changes (v0 stays where it was).
    const refused = await q.run("push-manifest", "-t", "v0");
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe("");
    expect(refused.stderr).toMatch(
      /^Error: Manifest contains pointers to local files\. Use push-data to first push those files to s3 or --force-allow-local-files if this is intentional\nhint: .*push-data/,
    );
    expect((await Package.browse(`${name}:v0`, { registry: env.registry, session: ctx })).hash).toBe(top1);
    expect((await q.status()).head).toBe(`PackageBuilder: ${name} (pre-manifest)`);

    const lines = (await q.ok("push-data", `--prefix=${dataPrefix}`)).split("\n").filter(Boolean);
    // Sorted by logical key; as in the transcript, the folded train2017/ line comes before its exception.
    expect(lines).toEqual([
      `Pushing ${join(root, "test2017")}/ to ${dest}test2017/...`,
      `Copying ${dest}train2017/ to ${dest}train2017/... (data exists, skipping)`,
      `Pushing ./replacement/1.jpg to ${dest}train2017/1.jpg`,
      `Copying ${dest}val2017/ to ${dest}val2017/... (data exists, skipping)`,
    ]);

    const final = await q.run("push-manifest");
    expect(final.code).toBe(0);
    const m = /^Building manifest\.\.\.\nTophash: ([0-9a-f]{64})\nPushing manifest to (\S+)\n$/.exec(
      final.stdout,
    );
    expect(m, final.stdout).not.toBeNull();
    const top2 = m?.[1] as string;
    expect(top2).not.toBe(top1);
    expect(m?.[2]).toBe(`s3://${bucket}/.quilt/packages/${top2}`);
    expect(await q.status()).toMatchObject({ head: `Package: ${name}@${top2.slice(0, 9)}`, matches: true });

    // The package as anyone sees it: every entry in the registry bucket, with the right bytes.
    const pkg = await Package.browse(name, { registry: env.registry, session: ctx });
    expect(pkg.hash).toBe(top2);
    expect(pkg.manifest.entries.map((e) => e.logicalKey)).toEqual([
      "test2017/a.jpg",
      "test2017/b.jpg",
      "train2017/1.jpg",
      "train2017/2.jpg",
      "train2017/3.jpg",
      "train2017/4.jpg",
      "val2017/v1.jpg",
      "val2017/v2.jpg",
    ]);
    for (const e of pkg.manifest.entries) {
      expect(e.physicalKey.bucket).toBe(bucket);
      expect(e.physicalKey.path).toBe(dataPrefix + e.logicalKey);
      expect(e.physicalKey.versionId).not.toBeNull();
    }
    const expected: Record<string, Buffer> = {
      "train2017/1.jpg": files["ws/replacement/1.jpg"] as Buffer,
      "train2017/2.jpg": files["ws/train2017/2.jpg"] as Buffer,
      "test2017/b.jpg": files["test2017/b.jpg"] as Buffer,
      "val2017/v2.jpg": val["v2.jpg"] as Buffer,
    };
    for (const [k, bytes] of Object.entries(expected))
      expect((await pkg.getContents(k)).equals(bytes), k).toBe(true);
    // v0 still has the original first image.
    const v0 = await Package.browse(`${name}:v0`, { registry: env.registry, session: ctx });
    expect((await v0.getContents("train2017/1.jpg")).equals(files["ws/train2017/1.jpg"] as Buffer)).toBe(
      true,
    );
    expect(v0.has("test2017/a.jpg")).toBe(false);

    // Every command worked from a subdirectory too: the workspace is found by walking up.
    mkdirSync(join(ws, "train2017", "deeper"), { recursive: true });
    const sub = new CliSession(join(ws, "train2017", "deeper"), env.env);
    expect(await sub.status()).toMatchObject({ head: `Package: ${name}@${top2.slice(0, 9)}`, matches: true });
  });
});
