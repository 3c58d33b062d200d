// The fault suite (issue 12): install, push and the mount against moto through the fault
// proxy, with 503 SlowDown storms, resets mid-body, truncation with correct headers, stalls
// and latency spikes. Expected: bounded retries, the right bytes or a clear error with a
// hint, the daemon still answering, and the retries visible in `quilt mounts --json`.
// Timeouts are 1 s (QUILT_S3_IDLE_TIMEOUT) so a stall costs a second, not fifteen.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Package, Session } from "../../src/index.js";
import type { MountInfoReply } from "../../src/daemon/package-mount.js";
import { runCli } from "../helpers/cli.js";
import { CliSession } from "../helpers/cli-builder.js";
import { errnoOf, publishFiles, pseudoRandomBytes } from "../helpers/daemon-fixtures.js";
import { DaemonSandbox } from "../helpers/daemon-harness.js";
import { startFaultProxy, type FaultProxy } from "../helpers/daemon-proxy.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";

const s3 = s3TestEnv();
const registry = `s3://${s3.bucket}`;
const salt = uniquePrefix("faults");
const name = `${salt}/pkg`;
const KB = 1024;
/** Each file meets its own fault (faults match keys by substring). */
const FILES: Record<string, Buffer> = {
  "storm.bin": pseudoRandomBytes(300 * KB, `${salt}-storm`),
  "reset.bin": pseudoRandomBytes(400 * KB + 3, `${salt}-reset`),
  "truncated.bin": pseudoRandomBytes(250 * KB, `${salt}-truncated`),
  "stalled.bin": pseudoRandomBytes(500 * KB + 1, `${salt}-stalled`),
  "spiky.bin": pseudoRandomBytes(200 * KB, `${salt}-spiky`),
  "down.bin": pseudoRandomBytes(100 * KB, `${salt}-down`),
  "lib-stall.bin": pseudoRandomBytes(300 * KB, `${salt}-lib-stall`),
  "abort.bin": pseudoRandomBytes(300 * KB, `${salt}-abort`),
  "interrupted.bin": pseudoRandomBytes(300 * KB, `${salt}-interrupted`),
};
const QUICK_TIMEOUTS = { QUILT_S3_IDLE_TIMEOUT: "1", QUILT_S3_CONNECT_TIMEOUT: "1" };

let proxy: FaultProxy;
let root: string;

/** The faults every reader meets, once each (a storm: 3 answers), on its own file. */
function injectEachFault(p: FaultProxy, tag: string): void {
  p.failWith(`${tag}storm.bin`, { status: 503, code: "SlowDown", times: 3 });
  p.reset(`${tag}reset.bin`, { afterBytes: 20_000, times: 1 });
  p.truncate(`${tag}truncated.bin`, { afterBytes: 30_000, times: 1 });
  p.stall(`${tag}stalled.bin`, { afterBytes: 40_000, times: 1 });
  p.delayGets(`${tag}spiky.bin`, 1500, { times: 2 });
}
const FAULTED = ["storm.bin", "reset.bin", "truncated.bin", "stalled.bin", "spiky.bin"];

beforeAll(async () => {
  await publishFiles(s3.endpoint, registry, name, FILES, { prefix: `${salt}-data/` });
  proxy = await startFaultProxy(s3.endpoint);
  root = await mkdtemp(join(tmpdir(), "quilt-faults-"));
});
afterAll(async () => {
  await proxy?.close();
  await rm(root, { recursive: true, force: true });
});

describe("library", () => {
  const context = (idleTimeoutMs: number) =>
    new Session({
      cacheDir: join(root, `lib-${idleTimeoutMs}`),
      s3: {
        endpoint: proxy.endpoint,
        forcePathStyle: true,
        idleTimeoutMs,
        retry: { baseDelayMs: 5, maxDelayMs: 50 },
      },
    });

  it("getBytes and download get the right bytes through a stall, a reset, a truncation, a storm and a spike", async () => {
    const ctx = context(1000);
    try {
      const pkg = await Package.browse(`${name}:v1`, { registry, session: ctx });
      proxy.stall("lib-stall.bin", { afterBytes: 10_000, times: 1 });
      expect((await pkg.getEntry("lib-stall.bin").getBytes()).equals(FILES["lib-stall.bin"] as Buffer)).toBe(
        true,
      );
      expect(proxy.gets("lib-stall.bin").map((g) => g.faults ?? [])).toEqual([["stall"], []]);
      injectEachFault(proxy, `${salt}-data/`);
      const dest = join(root, "lib-download");
      await pkg.download(dest);
      for (const key of FAULTED)
        expect((await readFile(join(dest, key))).equals(FILES[key] as Buffer), key).toBe(true);
    } finally {
      proxy.clearFaults();
      await ctx.close();
    }
  }, 60_000);

  it("getBytes and a download whose signal aborts during a stall are released at once, not after the idle timeout", async () => {
    const ctx = context(60_000);
    try {
      const pkg = await Package.browse(`${name}:v1`, { registry, session: ctx });
      proxy.stall("abort.bin", { afterBytes: 10_000 });
      const started = Date.now();
      const attempts: [string, (signal: AbortSignal) => Promise<unknown>][] = [
        ["getBytes", (signal) => pkg.getEntry("abort.bin").getBytes({ signal })],
        ["download", (signal) => pkg.download(join(root, "lib-abort"), { paths: ["abort.bin"], signal })],
      ];
      for (const [what, run] of attempts) {
        const seen = proxy.gets("abort.bin").length;
        const abort = new AbortController();
        const pending = run(abort.signal).catch((e: unknown) => e);
        for (let i = 0; i < 200 && proxy.gets("abort.bin").length === seen; i++)
          await new Promise((r) => setTimeout(r, 50));
        abort.abort();
        expect(await pending, what).toBeInstanceOf(Error);
      }
      // "Did not hang": both released long before one 60 s idle timeout would have passed.
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      proxy.clearFaults();
      await ctx.close();
    }
  }, 60_000);
});

describe("CLI install and push", () => {
  const env = (endpoint: string, label: string): Record<string, string> => ({
    ...s3.env,
    AWS_ENDPOINT_URL: endpoint,
    QUILT_CACHE_DIR: join(root, `${label}-cache`),
    QUILT_STATE_DIR: join(root, `${label}-state`),
    ...QUICK_TIMEOUTS,
  });

  it("install gets the right bytes through every fault; a key that keeps failing is a clear error", async () => {
    injectEachFault(proxy, `${salt}-data/`);
    const dest = join(root, "cli-install");
    const r = await runCli(["install", `${name}:v1`, "--registry", registry, "--dest", dest], {
      env: env(proxy.endpoint, "install"),
    });
    expect(r.code, r.stderr).toBe(0);
    for (const [key, bytes] of Object.entries(FILES))
      expect((await readFile(join(dest, key))).equals(bytes), key).toBe(true);
    expect((await runCli(["verify", dest], { env: env(proxy.endpoint, "install") })).code).toBe(0);
    for (const key of FAULTED) expect(proxy.gets(`${salt}-data/${key}`).length, key).toBeGreaterThan(1);
    proxy.clearFaults();

    proxy.failWith("down.bin", { status: 503, code: "SlowDown" });
    const failed = await runCli(
      ["install", `${name}:v1`, "--registry", registry, "--dest", join(root, "cli-install-down")],
      { env: env(proxy.endpoint, "install-down") },
    );
    proxy.clearFaults();
    expect(failed.code).toBe(3);
    expect(failed.stderr).toMatch(/^Error: .*down\.bin.*SlowDown/m);
    expect(failed.stderr).toMatch(/^hint: /m);
    expect(proxy.gets("down.bin").filter((g) => g.status === 503).length).toBe(5); // bounded: the policy's 5 attempts
  }, 120_000);

  it("push rides out a 503 SlowDown storm on PUTs and an upload reset mid-body; a storm that lasts is a clear error and no tag", async () => {
    const work = join(root, "push-work");
    await mkdir(work, { recursive: true });
    const files = {
      "pushed-a.bin": pseudoRandomBytes(200 * KB, `${salt}-pa`),
      "pushed-b.bin": pseudoRandomBytes(300 * KB, `${salt}-pb`),
    };
    for (const [k, v] of Object.entries(files)) await writeFile(join(work, k), v);
    const pushName = `${salt}/pushed`;
    const q = new CliSession(work, { ...env(proxy.endpoint, "push"), QUILT_REGISTRY: registry });
    await q.ok("init", pushName);
    await q.ok("add", "pushed-a.bin");
    await q.ok("add", "pushed-b.bin");
    proxy.failWith("pushed-a.bin", { status: 503, code: "SlowDown", methods: ["PUT"], times: 3 });
    proxy.resetUploads("pushed-b.bin", { afterBytes: 1000, times: 1 });
    await q.ok("push", "--prefix", `${salt}-pushed/v1`, "-t", "v1");
    expect(
      proxy.requests.filter((r) => r.method === "PUT" && r.key.endsWith("pushed-a.bin")).map((r) => r.status),
    ).toEqual([503, 503, 503, 200]);
    expect(
      proxy.requests
        .filter((r) => r.method === "PUT" && r.key.endsWith("pushed-b.bin"))
        .map((r) => r.faults ?? []),
    ).toEqual([["reset-upload"], []]);
    // Read back straight from moto: the pushed bytes are the files' bytes.
    const back = join(root, "push-back");
    expect(
      (
        await runCli(["install", `${pushName}:v1`, "--registry", registry, "--dest", back], {
          env: env(s3.endpoint, "push-back"),
        })
      ).code,
    ).toBe(0);
    for (const [k, v] of Object.entries(files))
      expect((await readFile(join(back, k))).equals(v), k).toBe(true);

    await writeFile(join(work, "pushed-c.bin"), pseudoRandomBytes(100 * KB, `${salt}-pc`));
    await q.ok("add", "pushed-c.bin");
    proxy.failWith("pushed-c.bin", { status: 503, code: "SlowDown", methods: ["PUT"] });
    const failed = await q.run("push", "--prefix", `${salt}-pushed/v2`, "-t", "v2");
    proxy.clearFaults();
    expect(failed.code).toBe(3);
    expect(failed.stderr).toMatch(/^Error: .*pushed-c\.bin.*SlowDown/m);
    expect(failed.stderr).toMatch(/^hint: /m);
    expect(
      (await runCli(["ls", `${pushName}:v2`, "--registry", registry], { env: env(s3.endpoint, "push-back") }))
        .code,
    ).toBe(4);
  }, 120_000);
});

const unavailable = fuseUnavailable();
describe.skipIf(unavailable !== null)("mount", () => {
  let box: DaemonSandbox;
  let mnt = "";
  beforeAll(async () => {
    box = await DaemonSandbox.create("faults", { endpoint: proxy.endpoint });
    Object.assign(box.env, QUICK_TIMEOUTS); // the daemon takes its timeouts from the shell that starts it
    mnt = await box.mountDir();
    await box.mount(`${name}:v1`, mnt, registry);
  });
  afterAll(async () => {
    await box?.cleanup();
  });

  const info = async (): Promise<MountInfoReply> => {
    const list = JSON.parse((await box.ok(["mounts", "--json"])).stdout) as MountInfoReply[];
    expect(list).toHaveLength(1);
    return list[0] as MountInfoReply;
  };

  it("reads the right bytes through every fault, counts the retries by cause, and a file S3 keeps failing is EIO with the daemon still up", async () => {
    injectEachFault(proxy, `${salt}-data/`);
    for (const key of FAULTED)
      expect((await readFile(join(mnt, key))).equals(FILES[key] as Buffer), key).toBe(true);
    proxy.clearFaults();
    const faults = (await info()).faults;
    expect(faults.throttled).toBeGreaterThanOrEqual(3);
    expect(faults.timeouts).toBeGreaterThanOrEqual(1);
    expect(faults.resets).toBeGreaterThanOrEqual(2);
    expect(faults.retries).toBeGreaterThanOrEqual(6);
    expect(faults.gaveUp).toBe(0);

    proxy.failWith("down.bin", { status: 503, code: "SlowDown" });
    expect(await errnoOf(readFile(join(mnt, "down.bin")))).toBe("EIO");
    proxy.clearFaults();
    expect((await info()).faults.gaveUp).toBeGreaterThanOrEqual(1);
    const text = await box.ok(["mounts"]);
    expect(text.stdout).toMatch(
      /storage: \d+ retries \(.*throttled.*\), [1-9]\d* failed after every attempt/,
    );
    expect((await readFile(join(mnt, "down.bin"))).equals(FILES["down.bin"] as Buffer)).toBe(true);
  }, 120_000);

  it("a reader killed by Ctrl-C during a stalled read exits (did not hang); the daemon answers and the file reads right after", async () => {
    proxy.stall("interrupted.bin", { afterBytes: 10_000 });
    const cat = spawn("cat", [join(mnt, "interrupted.bin")], { stdio: ["ignore", "ignore", "ignore"] });
    const exited = once(cat, "exit");
    for (let i = 0; i < 200 && proxy.gets("interrupted.bin").length === 0; i++)
      await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    cat.kill("SIGINT");
    await exited;
    // Reads go through the page cache, whose waits a fatal signal ends: the reader is released
    // at once. The FUSE read itself (the binding delivers no interrupt) stays in the daemon
    // until its fetch gives up (5 x 1 s here) or the 60 s read deadline aborts it.
    expect(Date.now() - started).toBeLessThan(20_000);
    proxy.clearFaults();
    await box.ok(["mounts"]);
    expect((await readFile(join(mnt, "interrupted.bin"))).equals(FILES["interrupted.bin"] as Buffer)).toBe(
      true,
    );
  }, 60_000);
});
