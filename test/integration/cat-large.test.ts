// A file larger than one piece goes out in pieces from the local cache, verified first:
// `entry.chunks()` in the library, and `quilt cat` on stdout (quiet when the reader stops
// early, with a hint when the cache cannot hold the file). Local registry, no server.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { Package, PackageBuilder, Session } from "../../src/index.js";
import { REPO_ROOT } from "../helpers/moto-server.js";
import { runCli } from "../helpers/cli.js";
import { pseudoRandomBytes } from "../helpers/package-fixtures.js";

const MiB = 1024 * 1024;

describe("reading a large file in pieces", () => {
  const root = mkdtempSync(join(tmpdir(), "quilt-cat-large-"));
  const registry = join(root, "registry");
  // ASCII, so the CLI's stdout compares as a string: 20 MiB of hex digits.
  const text = pseudoRandomBytes(10 * MiB, "cat").toString("hex");
  const env = {
    QUILT_REGISTRY: registry,
    QUILT_CACHE_DIR: join(root, "cli-cache"),
    QUILT_STATE_DIR: join(root, "state"),
  };

  beforeAll(async () => {
    mkdirSync(join(root, "src"), { recursive: true });
    writeFileSync(join(root, "src", "big.txt"), text);
    const ctx = new Session({ cacheDir: join(root, "push-cache") });
    const b = new PackageBuilder("ns/big", { registry, session: ctx, output: () => {} });
    await b.add(join(root, "src"), "");
    await b.pushDataAndManifest({ prefix: "data", tag: "v1" });
    await ctx.close();
  });

  it("chunks() yields the bytes in order, in pieces of the size asked", async () => {
    const ctx = new Session({ cacheDir: join(root, "lib-cache") });
    const pkg = await Package.browse("ns/big:v1", { registry, session: ctx });
    const pieces: Buffer[] = [];
    for await (const piece of pkg.getEntry("big.txt").chunks(8 * MiB)) pieces.push(piece);
    expect(pieces.map((p) => p.length)).toEqual([8 * MiB, 8 * MiB, 4 * MiB]);
    expect(Buffer.concat(pieces).toString()).toBe(text);
    await ctx.close();
  });

  it("quilt cat writes the whole file, and stops quietly when the reader does", async () => {
    const cat = await runCli(["cat", "ns/big:v1", "big.txt"], { env });
    expect(cat.code, cat.stderr).toBe(0);
    expect(cat.stdout.length).toBe(text.length);
    expect(cat.stdout === text).toBe(true);

    const head = spawnSync(
      "sh",
      [
        "-c",
        `"${process.execPath}" "${join(REPO_ROOT, "bin", "quilt.js")}" cat ns/big:v1 big.txt | head -c 100`,
      ],
      { env: { ...process.env, ...env }, encoding: "utf8" },
    );
    expect(head.stdout).toBe(text.slice(0, 100));
    expect(head.stderr).toBe("");
  });

  it("quilt cat says how to get a file the cache cannot hold", async () => {
    const small = { ...env, QUILT_CACHE_DIR: join(root, "small-cache"), QUILT_CACHE_SIZE: "8M" };
    const cat = await runCli(["cat", "ns/big:v1", "big.txt"], { env: small });
    expect(cat.code).not.toBe(0);
    expect(cat.stdout).toBe("");
    expect(cat.stderr).toMatch(/cannot be verified whole before it is served/);
    expect(cat.stderr).toMatch(/QUILT_CACHE_SIZE/);
  });
});
