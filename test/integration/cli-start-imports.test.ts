// What a command imports before it runs (issue 13: remount and restart within a second):
// commands are registered from command-list.ts and import their module only when picked,
// the daemon's commands never import the library's session, and the S3 client comes with
// the first S3 request. A module tracer (test/helpers/module-trace.ts) records what each
// process loaded; these fail if a top-level import brings the AWS SDK, LMDB, ajv or the
// Parquet writer back into `quilt --help`, a usage error, `quilt mounts`, `quilt mount`
// against a running daemon, or into the daemon's start.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { DaemonSandbox } from "../helpers/daemon-harness.js";
import { publishFiles } from "../helpers/daemon-fixtures.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";
import { heavyLoaded, ModuleTrace } from "../helpers/module-trace.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";

const trace = ModuleTrace.create();

/** The one traced process's modules (the command started no other). */
function onlyProcess(): string[] {
  const all = [...trace.take().values()];
  expect(all).toHaveLength(1);
  return all[0] ?? [];
}

describe("command start: what a command imports", () => {
  const home = mkdtempSync(join(tmpdir(), "quilt-start-imports-"));
  const env = {
    ...trace.env,
    HOME: home,
    QUILT_STATE_DIR: join(home, "state"),
    QUILT_CACHE_DIR: join(home, "cache"),
    QUILT_NO_LOG_FILE: "1",
  };

  it("help, a usage error, `quilt mounts` and `quilt daemon status` load neither the AWS SDK, LMDB, ajv nor hyparquet", async () => {
    for (const args of [
      ["--help"],
      ["mount", "--help"],
      ["mount"],
      ["frobnicate"],
      ["mounts"],
      ["daemon", "status"],
    ]) {
      const r = await runCli(args, { env });
      expect(r.stderr, args.join(" ")).not.toMatch(/bug in quilt/);
      expect(heavyLoaded(onlyProcess()), `quilt ${args.join(" ")}`).toEqual([]);
    }
  });

  it("the tracer sees them where a command does load the library (its block cache index is LMDB)", async () => {
    const registry = mkdtempSync(join(home, "registry-"));
    const r = await runCli(["ls", "ns/none", "--registry", registry], { env });
    expect(r.code).not.toBe(0); // no such package; the session was made all the same
    expect(heavyLoaded(onlyProcess())).toContain("lmdb");
  });
});

const unavailable = fuseUnavailable();
const s3 = s3TestEnv();
const registry = `s3://${s3.bucket}`;
const salt = uniquePrefix("startimp");
const name = `${salt}/pkg`;

describe.skipIf(unavailable !== null)("command start: mount, remount and restart", () => {
  let box: DaemonSandbox;

  beforeAll(async () => {
    await publishFiles(
      s3.endpoint,
      registry,
      name,
      { "a.txt": Buffer.from(`a ${salt}\n`) },
      { prefix: `${salt}-data/` },
    );
    box = await DaemonSandbox.create("startimp", { endpoint: s3.endpoint });
  });

  afterAll(async () => {
    await box?.cleanup();
  });

  it("`quilt mount`, `quilt mounts` and `quilt unmount` against a running daemon load no AWS SDK nor LMDB in the CLI", async () => {
    const mnt = await box.mountDir();
    await box.mount(`${name}:v1`, mnt, registry); // untraced: starts the daemon, indexes the version
    for (const args of [
      ["mounts"],
      ["unmount", mnt],
      ["mount", `${name}:v1`, mnt, "--registry", registry],
      ["daemon", "status"],
    ]) {
      await box.ok(args, trace.env);
      expect(heavyLoaded(onlyProcess()), `quilt ${args.join(" ")}`).toEqual([]);
    }
  });

  it("a daemon imports the AWS SDK only when a request needs it, not to start and answer its socket", async () => {
    await box.ok(["daemon", "stop"]); // unmounts: the next daemon has nothing to restore
    trace.take();
    await box.ok(["daemon", "start"], trace.env);
    await box.ok(["daemon", "status"]);
    await box.ok(["daemon", "stop"]); // the daemon writes its trace as it exits
    const traced = [...trace.take().values()];
    const daemon = traced.filter((urls) => urls.some((u) => u.endsWith("/daemon/daemon.js")));
    const cli = traced.filter((urls) => !daemon.includes(urls));
    expect([daemon.length, cli.length]).toEqual([1, 1]);
    expect(heavyLoaded(cli[0] ?? [])).toEqual([]);
    // LMDB it needs: its block cache and manifest index. (A restored mount of an S3 registry
    // does load the SDK: each version's manifest is HEADed for its time and size.)
    expect(heavyLoaded(daemon[0] ?? [])).toEqual(["lmdb"]);
  });
});
