// kill -9 of the daemon while a reader (another process) is in the middle of a large file,
// then `quilt daemon start`: the stale mount is cleared and the package mounted again at
// the same place, the cache is consistent (the bytes the daemon counts are the bytes of
// the block files on disk) and every file reads correctly again, the interrupted one too.
import { spawn, type ChildProcess } from "node:child_process";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fusermountUnmount, mountState } from "../../src/fs/mount-table.js";
import { DaemonSandbox, processAlive, waitFor } from "../helpers/daemon-harness.js";
import {
  blockFileBytes,
  mountDifferences,
  publishFiles,
  pseudoRandomBytes,
} from "../helpers/daemon-fixtures.js";
import { startFaultProxy, type FaultProxy } from "../helpers/daemon-proxy.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`Skipping daemon crash tests: ${unavailable}`);

const s3 = s3TestEnv();
const registry = `s3://${s3.bucket}`;
const salt = uniquePrefix("dmcrash");
const name = `${salt}/crash`;
const MiB = 1024 * 1024;
/** Over one 8 MiB chunk and without digests on moto, so it streams block by block (blocks land on disk as they come). */
const BIG_KEY = "big/interrupted.bin";
const FILES: Record<string, Buffer> = {
  "README.md": Buffer.from(`# Crash ${salt}\n`),
  "small/a.bin": pseudoRandomBytes(10_000, `${salt}-a`),
  "small/empty": Buffer.alloc(0),
  [BIG_KEY]: pseudoRandomBytes(10 * MiB + 7, `${salt}-big`),
};

/** A process that reads `path` in 64 KiB pieces, printing the running total after each. */
function startReader(path: string): {
  child: ChildProcess;
  readBytes: () => number;
  exit: Promise<number | null>;
} {
  const script = `
const fs = require("node:fs");
const fd = fs.openSync(process.argv[1], "r");
const buf = Buffer.alloc(65536);
let total = 0;
for (;;) {
  const n = fs.readSync(fd, buf, 0, buf.length, total);
  if (n === 0) break;
  total += n;
  process.stdout.write(total + "\\n");
}`;
  const child = spawn(process.execPath, ["-e", script, path], { stdio: ["ignore", "pipe", "pipe"] });
  let last = 0;
  child.stdout?.on("data", (d: Buffer) => {
    const lines = d.toString().trim().split("\n");
    last = Number(lines[lines.length - 1]);
  });
  child.stderr?.resume();
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, readBytes: () => last, exit };
}

describe.skipIf(unavailable !== null)("daemon: kill -9 during reads, then restart", () => {
  let proxy: FaultProxy;
  let box: DaemonSandbox;
  let mnt = "";
  let reader: ReturnType<typeof startReader> | undefined;

  beforeAll(async () => {
    await publishFiles(s3.endpoint, registry, name, FILES, { prefix: `${salt}-data/` });
    proxy = await startFaultProxy(s3.endpoint);
    box = await DaemonSandbox.create("crash", { endpoint: proxy.endpoint });
    mnt = await box.mountDir();
    await box.mount(`${name}:v1`, mnt, registry, ["--cache-size", "16M"]);
  });

  afterAll(async () => {
    reader?.child.kill("SIGKILL");
    await box?.cleanup();
    await proxy?.close();
  });

  it("clears the stale mount, remounts it, keeps the cache consistent and serves correct bytes", async () => {
    expect(await mountDifferences(mnt, FILES, [BIG_KEY])).toEqual([]);
    // Slow GETs of the big file, so the reader is caught half-way.
    proxy.delayGets(`${salt}-data/${BIG_KEY}`, 400);
    reader = startReader(join(mnt, BIG_KEY));
    await waitFor(() => reader!.readBytes() >= MiB, 30_000, "the reader to get past the first MiB");
    expect(reader.readBytes()).toBeLessThan((FILES[BIG_KEY] as Buffer).length);
    const oldPid = await box.kill9();
    // The reader fails (ENOTCONN) instead of hanging.
    expect(await reader.exit).not.toBe(0);
    expect(await mountState(mnt)).toBe("stale");
    proxy.clearFaults();
    // Commands on the orphaned mount say what happened and what to do.
    const orphan = await box.cli(["verify", mnt]);
    expect(orphan.code).toBe(6);
    expect(orphan.stderr).toContain(
      `Error: ${mnt} is a quilt mount, but no quilt daemon is running to serve it`,
    );
    expect(orphan.stderr).toContain("quilt daemon start");
    await expectPendingRestore(box, mnt);

    const started = await box.ok(["daemon", "start"]);
    expect(started.stdout).toMatch(/Daemon started \(pid \d+\)/);
    const newPid = await box.pid();
    expect(newPid).not.toBe(oldPid);
    expect(await mountState(mnt), await box.logTail()).toBe("live");
    const listed = JSON.parse((await box.ok(["mounts", "--json"])).stdout) as {
      mountpoint: string;
      package: string;
    }[];
    expect(listed.map((m) => [m.mountpoint, m.package])).toEqual([[mnt, `${name}:v1`]]);

    // The index and the block files agree (after the index catches up with what the crash left).
    const onDisk = async () => (await blockFileBytes(box.dataDir)).bytes;
    await waitFor(
      async () => (await box.stats()).cache.bytes === (await onDisk()),
      20_000,
      "cache stats to match the block files on disk",
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}: stats ${(await box.stats()).cache.bytes}, disk ${await onDisk()}`);
    });
    expect((await box.stats()).cache.bytes).toBeGreaterThan(0);

    // Every file reads correctly, the one interrupted mid-read too.
    expect(await mountDifferences(mnt, FILES)).toEqual([]);
    const stats = await box.stats();
    expect(stats.cache.corruptBlocks).toBe(0);
    expect(stats.cache.hashMismatches).toBe(0);
    // Once the object verified whole its blocks move to their content key in the background.
    await waitFor(
      async () => (await box.stats()).cache.bytes === (await onDisk()),
      20_000,
      "cache stats to match the block files after the move",
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}: stats ${(await box.stats()).cache.bytes}, disk ${await onDisk()}`);
    });
    expect(stats.cache.bytes).toBeLessThanOrEqual(16 * MiB);
  });

  it("after a crash and the user's own fusermount -uz, lists the mount as pending restore; the next quilt mount restores it", async () => {
    await box.kill9();
    await fusermountUnmount(mnt, { lazy: true });
    expect(await mountState(mnt)).toBe("none");
    await expectPendingRestore(box, mnt);
    const again = await box.ok(["mount", `${name}:v1`, mnt, "--registry", registry]);
    expect(again.stdout).toMatch(/Already mounted/);
    const listed = JSON.parse((await box.ok(["mounts", "--json"])).stdout) as {
      mountpoint: string;
      state: string;
    }[];
    expect(listed.map((m) => [m.mountpoint, m.state])).toEqual([[mnt, "mounted"]]);
    expect(await mountDifferences(mnt, FILES)).toEqual([]);
  });

  it("restores an indexed version without a request to S3, its files keeping their times", async () => {
    const before = await stat(join(mnt, "README.md"));
    await box.kill9();
    const seen = proxy.requests.length;
    await box.ok(["daemon", "start"]);
    expect(await mountState(mnt)).toBe("live");
    // Nothing asked of S3 by the restore: the version's time and manifest size are in the mount's record.
    expect(proxy.requests.slice(seen).map((r) => `${r.method} ${r.key}`)).toEqual([]);
    expect((await stat(join(mnt, "README.md"))).mtimeMs).toBe(before.mtimeMs);
    const listed = JSON.parse((await box.ok(["mounts", "--json"])).stdout) as {
      manifestBytes: number | null;
    }[];
    expect(listed[0]?.manifestBytes).toBeGreaterThan(0);
    expect(await mountDifferences(mnt, FILES)).toEqual([]);
  });
});

/** With the daemon dead, `quilt mounts` lists `mnt` as restored at the next start, and starts no daemon. */
async function expectPendingRestore(box: DaemonSandbox, mnt: string): Promise<void> {
  const text = await box.ok(["mounts"]);
  expect(text.stdout).toContain(`${mnt}  ${name}:v1`);
  expect(text.stdout).toMatch(/will be restored at next daemon start/);
  const json = JSON.parse((await box.ok(["mounts", "--json"])).stdout) as {
    mountpoint: string;
    package: string;
    state: string;
  }[];
  expect(json.map((m) => [m.mountpoint, m.package, m.state])).toEqual([
    [mnt, `${name}:v1`, "pending-restore"],
  ]);
  const pid = await box.pid();
  expect(pid === undefined || !processAlive(pid), "quilt mounts started no daemon").toBe(true);
}
