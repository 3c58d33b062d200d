// `quilt hash` is used by outside checks: it must print exactly the hash and a newline,
// and fail with a clear error and a non-zero status otherwise.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeInstallState } from "../../src/api/install-state.js";
import { runCli } from "../helpers/cli.js";

const VECTORS = join(import.meta.dirname, "..", "fixtures", "quilt3-vectors");

describe("quilt hash", () => {
  it("--manifest prints the top hash of each vector", async () => {
    const r = await runCli(["hash", "--manifest", join(VECTORS, "own_tiny_sha256.jsonl")]);
    expect(r).toEqual({
      code: 0,
      stdout: "5718ea75f9c0b19cc51733613b70940061c1ef92dc8b8a126125fc6659535b6a\n",
      stderr: "",
    });
    const empty = await runCli(["hash", "--manifest", join(VECTORS, "empty_build.jsonl")]);
    expect(empty.stdout).toBe("2a5a67156ca9238c14d12042db51c5b52260fdd5511b61ea89b58929d6e1769b\n");
  });

  it("--file prints sha2-256-chunked by default and SHA256 on request", async () => {
    const dir = mkdtempSync(join(tmpdir(), "quilt-cli-hash-"));
    writeFileSync(join(dir, "t.txt"), "# This is a test package\n");
    writeFileSync(join(dir, "h.txt"), "Hello, World!");
    expect((await runCli(["hash", "--file", join(dir, "t.txt")])).stdout).toBe(
      "JvRxeMunq4eK7c1I8s4YNg2ajaE9BtNEg/0pdpEGv58=\n",
    );
    expect((await runCli(["hash", "--file", join(dir, "h.txt"), "--type", "SHA256"])).stdout).toBe(
      "dffd6021bb2bd5b0af676290809ec3a53191dd81c7f70a4b28688a362182986f\n",
    );
  });

  it("a manifest that is not valid is refused with its line number", async () => {
    const dir = mkdtempSync(join(tmpdir(), "quilt-cli-hash-"));
    const bad = join(dir, "bad.jsonl");
    writeFileSync(
      bad,
      '{"version": "v0"}\n{"logical_key": "../x", "physical_keys": ["s3://b/x"], "size": 1, "hash": {"type": "SHA256", "value": "0"}, "meta": {}}\n',
    );
    const r = await runCli(["hash", "--manifest", bad]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^Error: Manifest line 2: invalid logical key "\.\.\/x"/);
    expect(r.stderr).toMatch(/hint: /);
  });

  it("bad usage exits 2 with the usage line; a missing file names the path", async () => {
    const usage = await runCli(["hash", "--type", "MD5", "--file", "x"]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/Usage: quilt hash/);
    const missing = await runCli(["hash", "--file", "/nonexistent/file"]);
    expect(missing.code).toBe(4); // not found
    expect(missing.stderr).toBe(
      "Error: Cannot open /nonexistent/file: it (or a directory above it) does not exist\nhint: check the path (a relative path starts from the current directory)\n",
    );
    const none = await runCli(["hash"], { cwd: mkdtempSync(join(tmpdir(), "quilt-cli-hash-")) });
    expect(none.code).toBe(4);
    expect(none.stderr).toMatch(/holds no installed package[\s\S]*give --manifest FILE or --file FILE/);
  });

  it("DIR prints the top hash its install record names, and refuses a record whose top hash is damaged", async () => {
    const dir = mkdtempSync(join(tmpdir(), "quilt-cli-hash-"));
    const topHash = "5718ea75f9c0b19cc51733613b70940061c1ef92dc8b8a126125fc6659535b6a";
    const record = { format: 1 as const, registry: join(dir, "registry"), name: "a/b", files: {} };
    await writeInstallState(dir, { ...record, topHash });
    expect(await runCli(["hash", dir])).toEqual({ code: 0, stdout: topHash + "\n", stderr: "" });
    // A damaged record's text is never printed as a hash, nor used to name a manifest.
    for (const bad of ["../../other", topHash.toUpperCase(), topHash.slice(1)]) {
      await writeInstallState(dir, { ...record, topHash: bad });
      const r = await runCli(["hash", dir]);
      expect(r.code).toBe(5); // integrity
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(
        /is not a valid install record: its topHash is not 64 lowercase hex digits\nhint: /,
      );
    }
  });

  it("--help runs for the program and the command", async () => {
    const top = await runCli(["--help"]);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/quilt hash/);
    const sub = await runCli(["hash", "--help"]);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toMatch(/Examples:/);
  });
});
