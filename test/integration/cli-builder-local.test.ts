// The builder workflow of USECASES.md against a local-directory registry with no S3
// server at all (the S3 endpoint points at a closed port, so any S3 call would fail):
// the transcript, `push` with metadata that must round-trip exactly, mv and rm, and a
// file edited after it was hashed (hashed again, never pushed with its old hash).
import { readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Package, Session } from "../../src/index.js";
import { CliSession } from "../helpers/cli-builder.js";
import { pseudoRandomBytes } from "../helpers/package-fixtures.js";
import { cleanupAll, tempRoot, writeTree } from "../helpers/usecase-support.js";

afterAll(cleanupAll);

/** No server: S3 calls would go to a closed port and fail. */
const NO_S3 = {
  AWS_ENDPOINT_URL: "http://127.0.0.1:9",
  AWS_ACCESS_KEY_ID: "none",
  AWS_SECRET_ACCESS_KEY: "none",
  AWS_REGION: "us-east-1",
};

function localContext(): Session {
  const ctx = new Session({ cacheDir: join(tempRoot("cli-builder-cache"), "cache") });
  return ctx;
}

function setup(label: string): {
  root: string;
  ws: string;
  registry: string;
  files: Record<string, Buffer>;
  q: CliSession;
} {
  const root = tempRoot(label);
  const files: Record<string, Buffer> = {
    "ws/train2017/1.jpg": pseudoRandomBytes(300, `${label}-1`),
    "ws/train2017/2.jpg": pseudoRandomBytes(400, `${label}-2`),
    "ws/train2017/3.jpg": pseudoRandomBytes(500, `${label}-3`),
    "ws/replacement/1.jpg": pseudoRandomBytes(350, `${label}-r`),
    "test2017/a.jpg": pseudoRandomBytes(100, `${label}-ta`),
    "test2017/b.jpg": pseudoRandomBytes(110, `${label}-tb`),
  };
  writeTree(root, files);
  const ws = join(root, "ws");
  return { root, ws, registry: join(root, "registry"), files, q: new CliSession(ws, NO_S3) };
}

describe("quilt builder workflow on a local registry, no server", () => {
  it("replays the transcript and the package is browsable from the registry directory", async () => {
    const { root, registry, files, q } = setup("local-flow");
    const name = "local/dataset";
    expect(await q.ok("init", name, "--registry", registry)).toMatch(
      /^New PackageBuilder local\/dataset created\n/,
    );
    await q.ok("add", "train2017/");
    let s = await q.status();
    expect(s.head).toBe(`PackageBuilder: ${name} (pre-manifest)`);
    expect(s.data).toEqual([["train2017/", "./train2017/"]]);

    const top1 = /Tophash: ([0-9a-f]{64})/.exec(await q.ok("build-manifest"))?.[1] as string;
    expect(top1).toMatch(/^[0-9a-f]{64}$/);
    expect((await q.status()).head).toBe(`PackageBuilder: ${name} (${top1.slice(0, 9)})`);

    expect(await q.ok("push-data", "--prefix=data/dataset/v0/", "--local-files-only")).toBe(
      `Pushing ./train2017/ to ${registry}/data/dataset/v0/train2017/...\n`,
    );
    s = await q.status();
    expect(s.head).toBe(`PackageBuilder: ${name} (${top1.slice(0, 9)})`);
    expect(s.data).toEqual([["train2017/", "../registry/data/dataset/v0/train2017/"]]);

    expect(await q.ok("push-manifest", "-t", "v0")).toMatch(
      new RegExp(
        `^Pushing manifest to file://${registry}/\\.quilt/packages/${top1}\\nLinking ${name}:v0 to manifest ${top1.slice(0, 9)}\\n$`,
      ),
    );
    expect(await q.status()).toMatchObject({
      head: `Package: ${name}:v0 (${top1.slice(0, 9)})`,
      matches: true,
    });

    await q.ok("add", "test2017/", "../test2017/");
    await q.ok("set", "train2017/1.jpg", "./replacement/1.jpg");
    s = await q.status();
    expect(s.head).toBe(`PackageBuilder: ${name} (pre-manifest)`);
    expect(s.data).toEqual([
      ["train2017/", "../registry/data/dataset/v0/train2017/"],
      ["train2017/1.jpg", "./replacement/1.jpg"],
      ["test2017/", "../test2017/"],
    ]);

    const refused = await q.run("push-manifest", "-t", "v0");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /^Error: Manifest contains pointers to local files\. Use push-data to first push those files to s3 or --force-allow-local-files if this is intentional\nhint: /,
    );

    // No --prefix: the workspace remembers the last one.
    // A local registry keeps no old versions of a file, so pushing the replacement over
    // data/dataset/v0/train2017/1.jpg would change v0's data: this version goes to v1/.
    // (The library's push report names no destination for a directory whose files are
    // partly in the registry already: "... to ?". Reported; only the rest is checked.)
    const pushLines = await q.ok("push-data", "--prefix=data/dataset/v1/");
    expect(pushLines).toMatch(/^Pushing \.\/replacement\/1\.jpg to /m);
    expect(pushLines).toMatch(
      new RegExp(`^Pushing ${root}/test2017/ to ${registry}/data/dataset/v1/test2017/\\.\\.\\.$`, "m"),
    );
    expect((await q.status()).data).toEqual([
      ["train2017/", "../registry/data/dataset/v1/train2017/"],
      ["test2017/", "../registry/data/dataset/v1/test2017/"],
    ]);
    // No --prefix: the workspace remembers the last one, where everything is now.
    const v1 = `${registry}/data/dataset/v1`;
    expect(await q.ok("push-data")).toBe(
      `Pushing ${v1}/test2017/ to ${v1}/test2017/... (data exists, skipping)\nPushing ${v1}/train2017/ to ${v1}/train2017/... (data exists, skipping)\n`,
    );
    const top2 = /Tophash: ([0-9a-f]{64})/.exec(await q.ok("push-manifest"))?.[1] as string;
    expect(await q.status()).toMatchObject({ head: `Package: ${name}@${top2.slice(0, 9)}`, matches: true });

    const ctx = localContext();
    try {
      const pkg = await Package.browse(name, { registry, session: ctx });
      expect(pkg.hash).toBe(top2);
      expect(pkg.manifest.entries.map((e) => e.logicalKey)).toEqual([
        "test2017/a.jpg",
        "test2017/b.jpg",
        "train2017/1.jpg",
        "train2017/2.jpg",
        "train2017/3.jpg",
      ]);
      for (const e of pkg.manifest.entries)
        expect(e.physicalKey.path).toBe(`${registry}/data/dataset/v1/${e.logicalKey}`);
      expect((await pkg.getContents("train2017/1.jpg")).equals(files["ws/replacement/1.jpg"] as Buffer)).toBe(
        true,
      );
      expect((await pkg.getContents("test2017/a.jpg")).equals(files["test2017/a.jpg"] as Buffer)).toBe(true);
      const v0 = await Package.browse(`${name}:v0`, { registry, session: ctx });
      expect(v0.hash).toBe(top1);
      expect((await v0.getContents("train2017/1.jpg")).equals(files["ws/train2017/1.jpg"] as Buffer)).toBe(
        true,
      );
    } finally {
      await ctx.close();
    }
  });

  it("push does data and manifest; metadata round-trips exactly; mv and rm", async () => {
    const { registry, q } = setup("local-meta");
    const name = "local/meta";
    await q.ok("init", name, "--registry", registry, "-m", "first version");
    expect(await q.ok("add", ".")).toMatch(
      /^Adding contents of directory \.\/ to local\/meta as the top level\.\.\.\nAdded 4 files\n$/,
    );
    const meta = '{"b": 1.0, "10": 12345678901234567890, "a": [1e+16, "été"]}';
    await q.ok("set-meta", ".", meta);
    await q.ok("set-meta", "train2017/", '{"split": "train", "scale": 2.0}');
    await q.ok("set-meta", "train2017/2.jpg", '{"label": "cat", "score": 0.5}');
    // mv: a collision changes nothing unless --overwrite; an entry can be renamed too.
    const collision = await q.run("mv", "replacement/", "train2017/");
    expect(collision.code).toBe(2);
    expect(collision.stderr).toMatch(
      /^Error: Collision detected\. moving "replacement\/1\.jpg" to "train2017\/1\.jpg", but "train2017\/1\.jpg" already exists/,
    );
    expect(await q.ok("mv", "replacement/", "train2017/", "--overwrite")).toBe(
      "Moved 1 entry from replacement/ to train2017/ (1 replaced)\n",
    );
    expect(await q.ok("mv", "train2017/3.jpg", "extra/")).toBe("Moved train2017/3.jpg to extra/3.jpg\n");
    expect(await q.ok("rm", "extra/")).toBe("Removed extra/3.jpg\n");
    const rmMissing = await q.run("rm", "nothing/here");
    expect(rmMissing.code).toBe(4);
    expect(rmMissing.stderr).toMatch(/^Error: Nothing at "nothing\/here" to delete/);
    const badJson = await q.run("set-meta", ".", "{nope");
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toMatch(/^Error: Invalid JSON for the metadata: .*\nhint: /);

    const out = await q.ok("push", "--prefix", "p", "-t", "v1");
    const top = /Tophash: ([0-9a-f]{64})/.exec(out)?.[1] as string;
    expect(out).toMatch(new RegExp(`Linking ${name}:v1 to manifest ${top.slice(0, 9)}`));
    expect(await q.status()).toMatchObject({
      head: `Package: ${name}:v1 (${top.slice(0, 9)})`,
      matches: true,
    });

    // The manifest keeps the metadata as typed: 1.0, the big integer, key order, unicode.
    const lines = readFileSync(join(registry, ".quilt", "packages", top), "utf8").split("\n");
    expect(lines[0]).toBe(`{"version": "v0", "message": "first version", "user_meta": ${meta}}`);
    expect(lines[1]).toBe('{"logical_key": "train2017/", "meta": {"split": "train", "scale": 2.0}}');
    expect(lines.filter((l) => l.includes('"logical_key": "train2017/2.jpg"'))[0]).toMatch(
      /"meta": \{"user_meta": \{"label": "cat", "score": 0\.5\}\}\}$/,
    );
    expect(
      lines.filter(Boolean).map((l) => (JSON.parse(l) as { logical_key?: string }).logical_key ?? ""),
    ).toEqual(["", "train2017/", "train2017/1.jpg", "train2017/2.jpg"]);
  });

  it("a file edited after it was hashed is hashed again, never pushed with its old hash", async () => {
    const { ws, registry, q } = setup("local-stale");
    await q.ok("init", "stale/pkg", "--registry", registry);
    await q.ok("add", "train2017/");
    const top1 = /Tophash: ([0-9a-f]{64})/.exec(await q.ok("build-manifest"))?.[1] as string;
    // Same size, different bytes, later mtime.
    const file = join(ws, "train2017", "2.jpg");
    writeFileSync(file, pseudoRandomBytes(400, "edited"));
    const later = Date.now() / 1000 + 5;
    utimesSync(file, later, later);
    const s = await q.status();
    expect(s.head).toBe("PackageBuilder: stale/pkg (pre-manifest)");
    expect(s.rest).toEqual([
      "Changed since hashed (1; the next build hashes them again):",
      "  ./train2017/2.jpg",
    ]);
    const top2 = /Tophash: ([0-9a-f]{64})/.exec(await q.ok("build-manifest"))?.[1] as string;
    expect(top2).not.toBe(top1);
    expect((await q.status()).head).toBe(`PackageBuilder: stale/pkg (${top2.slice(0, 9)})`);
    const pushed = /Tophash: ([0-9a-f]{64})/.exec(await q.ok("push", "--prefix", "d"));
    expect(pushed).toBeNull(); // already built: push does not build again
    const ctx = localContext();
    try {
      const pkg = await Package.browse("stale/pkg", { registry, session: ctx });
      expect(pkg.hash).toBe(top2);
      expect((await pkg.getContents("train2017/2.jpg")).equals(pseudoRandomBytes(400, "edited"))).toBe(true);
    } finally {
      await ctx.close();
    }
  });
});
