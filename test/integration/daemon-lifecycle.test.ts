// The daemon's lifecycle through the CLI: the same mount twice is a no-op; another mount on a
// mounted path, a non-empty directory without --nonempty (with it, it works) and a bad
// --cache-size are refused with a clear error; `quilt unmount` and `quilt mounts`; SIGTERM to the daemon
// unmounts everything, removes its pid file and socket, and exits.
import { existsSync } from "node:fs";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mountAt, mountState } from "../../src/fs/mount-table.js";
import { DaemonSandbox, processAlive, waitFor } from "../helpers/daemon-harness.js";
import { publishFiles, runCommand } from "../helpers/daemon-fixtures.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`Skipping daemon lifecycle tests: ${unavailable}`);

const s3 = s3TestEnv();
const registry = `s3://${s3.bucket}`;
const salt = uniquePrefix("dmlife");
const name = `${salt}/life`;
const FILES: Record<string, Buffer> = {
  "hello.txt": Buffer.from(`hello ${salt}\n`),
  "dir/x.bin": Buffer.from([0, 1, 2, 3]),
};

interface MountInfo {
  mountpoint: string;
  package: string;
  topHash: string;
  entries: number;
}

describe.skipIf(unavailable !== null)("daemon: lifecycle", () => {
  let box: DaemonSandbox;
  let topHash = "";

  beforeAll(async () => {
    topHash = (await publishFiles(s3.endpoint, registry, name, FILES, { prefix: `${salt}-data/` })).topHash;
    box = await DaemonSandbox.create("life", { endpoint: s3.endpoint });
  });

  afterAll(async () => {
    await box?.cleanup();
  });

  it("mounts the same version twice as a no-op, refuses another mount on a mounted path, and a non-empty directory without --nonempty", async () => {
    const mnt = await box.mountDir("first");
    const mounted = await box.mount(`${name}:v1`, mnt, registry);
    expect(mounted.stdout).toContain(`Mounted ${name}:v1 (${topHash.slice(0, 9)}) at ${mnt}: 2 files`);
    expect((await readFile(join(mnt, "hello.txt"))).equals(FILES["hello.txt"] as Buffer)).toBe(true);

    // Other users of the machine cannot read the cache, the state or the log.
    for (const dir of [
      box.stateDir,
      join(box.stateDir, "logs"),
      join(box.stateDir, "index"),
      box.cacheDir,
      box.dataDir,
    ]) {
      expect((await stat(dir)).mode & 0o077, dir).toBe(0);
    }

    // The same request again (a retried job step): success, nothing changed.
    const same = await box.cli(["mount", `${name}:v1`, mnt, "--registry", registry]);
    expect(same.code).toBe(0);
    expect(same.stdout).toContain(`Already mounted: ${name}:v1 (${topHash.slice(0, 9)}) at ${mnt}`);
    expect(await mountState(mnt)).toBe("live");

    const again = await box.cli(["mount", `${name}:v1`, mnt, "--registry", registry, "--verify", "strict"]);
    expect(again.code).toBe(7); // busy (README, "Exit status")
    expect(again.stderr).toContain(`Error: ${mnt} is already mounted (${name}@${topHash.slice(0, 9)})`);
    expect(again.stderr).toContain(`hint: unmount it first: quilt unmount ${mnt}`);
    // The refused request left the first mount alone.
    expect(await mountState(mnt)).toBe("live");

    // Options are checked before anything starts: bad usage, exit 2, naming the value.
    const badSize = await box.cli([
      "mount",
      `${name}:v1`,
      await box.mountDir("badsize"),
      "--registry",
      registry,
      "--cache-size",
      "lots",
    ]);
    expect(badSize.code).toBe(2);
    expect(badSize.stderr).toContain('Invalid cache size "lots"');
    const badEnv = await box.cli(
      ["mount", `${name}:v1`, await box.mountDir("badenv"), "--registry", registry],
      { QUILT_CACHE_SIZE: "lots" },
    );
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toContain('Invalid cache size QUILT_CACHE_SIZE="lots"');

    const full = await box.mountDir("full");
    await writeFile(join(full, "keep-me.txt"), "mine");
    const refused = await box.cli(["mount", `${name}:v1`, full, "--registry", registry]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`Error: Mount point ${full} is not empty`);
    expect(refused.stderr).toContain("--nonempty");
    expect(await mountAt(full)).toBeUndefined();
    expect(await readFile(join(full, "keep-me.txt"), "utf8")).toBe("mine");

    await box.mount(`${name}:v1`, full, registry, ["--nonempty"]);
    expect((await readFile(join(full, "hello.txt"))).equals(FILES["hello.txt"] as Buffer)).toBe(true);
    expect(existsSync(join(full, "keep-me.txt"))).toBe(false);

    const list = JSON.parse((await box.ok(["mounts", "--json"])).stdout) as MountInfo[];
    expect(list.map((m) => m.mountpoint).sort()).toEqual([mnt, full].sort());
    for (const m of list) expect(m).toMatchObject({ package: `${name}:v1`, topHash, entries: 2 });

    await box.ok(["unmount", full]);
    expect(await mountAt(full)).toBeUndefined();
    // What the directory held is visible again.
    expect(await readFile(join(full, "keep-me.txt"), "utf8")).toBe("mine");
    const after = JSON.parse((await box.ok(["mounts", "--json"])).stdout) as MountInfo[];
    expect(after.map((m) => m.mountpoint)).toEqual([mnt]);
  });

  it("starts one daemon when two mounts race to start it", async () => {
    const race = await DaemonSandbox.create("race", { endpoint: s3.endpoint });
    try {
      const dirs = [await race.mountDir("r1"), await race.mountDir("r2"), await race.mountDir("r3")];
      const results = await Promise.all(
        dirs.map((d) => race.cli(["mount", `${name}:v1`, d, "--registry", registry])),
      );
      for (const r of results) expect(r.code, r.stderr).toBe(0);
      const list = JSON.parse((await race.ok(["mounts", "--json"])).stdout) as MountInfo[];
      expect(list.map((m) => m.mountpoint).sort()).toEqual([...dirs].sort());
      const daemons = (await runCommand("pgrep", ["-f", `daemon run`])).trim().split("\n").filter(Boolean);
      const ours = [];
      for (const pid of daemons) {
        const env = await readFile(`/proc/${pid}/environ`, "utf8").catch(() => "");
        if (env.split("\0").includes(`QUILT_STATE_DIR=${race.stateDir}`)) ours.push(Number(pid));
      }
      expect(ours).toEqual([await race.pid()]);
      // One malloc arena and a fixed mmap threshold unless the caller chose (lifecycle.ts).
      expect((await readFile(`/proc/${ours[0]}/environ`, "utf8")).split("\0")).toEqual(
        expect.arrayContaining(["MALLOC_ARENA_MAX=1", "MALLOC_MMAP_THRESHOLD_=2097152"]),
      );
      for (const d of dirs)
        expect((await readFile(join(d, "hello.txt"))).equals(FILES["hello.txt"] as Buffer)).toBe(true);
    } finally {
      await race.cleanup();
    }
  });

  it("daemon stop kills a daemon that does not answer, clears its mounts, and a new daemon mounts again", async () => {
    const wedged = await box.mountDir("wedged");
    await box.mount(`${name}:v1`, wedged, registry);
    const pid = await box.pid();
    expect(pid).toBeDefined();
    // A daemon that cannot answer anything: stopped, like one wedged on a hung read.
    process.kill(pid as number, "SIGSTOP");
    const stop = await box.cli(["daemon", "stop"], { QUILT_DAEMON_STOP_TIMEOUT_MS: "1500" });
    expect(stop.code, stop.stderr).toBe(0);
    expect(processAlive(pid as number)).toBe(false);
    expect(await mountState(wedged)).toBe("none");
    expect(await mountState(join(box.root, "first"))).toBe("none");
    expect(existsSync(box.pidFile)).toBe(false);
    // Nothing is left for the next daemon to restore, and it mounts again.
    await box.mount(`${name}:v1`, wedged, registry);
    expect((await readFile(join(wedged, "hello.txt"))).equals(FILES["hello.txt"] as Buffer)).toBe(true);
    const list = JSON.parse((await box.ok(["mounts", "--json"])).stdout) as MountInfo[];
    expect(list.map((m) => m.mountpoint)).toEqual([wedged]);
    // The SIGTERM test below expects the first mount live again.
    await box.mount(`${name}:v1`, join(box.root, "first"), registry);
  });

  it("unmounts everything and exits on SIGTERM", async () => {
    const second = await box.mountDir("second");
    await box.mount(`${name}@${topHash}`, second, registry);
    const first = join(box.root, "first");
    expect(await mountState(first)).toBe("live");
    expect(await mountState(second)).toBe("live");
    const pid = await box.pid();
    expect(pid).toBeDefined();
    process.kill(pid as number, "SIGTERM");
    await waitFor(() => !processAlive(pid as number), 20_000, "the daemon to exit after SIGTERM");
    expect(await mountAt(first)).toBeUndefined();
    expect(await mountAt(second)).toBeUndefined();
    expect(existsSync(box.pidFile)).toBe(false);
    expect(existsSync(join(box.stateDir, "daemon", "quilt.sock"))).toBe(false);
    const status = await box.cli(["daemon", "status"]);
    expect(status.code).toBe(1);
    expect(status.stdout).toContain("Daemon: not running");
    const log = await readFile(box.logFile, "utf8");
    expect(log).toContain("SIGTERM");
    expect(log).toContain("daemon stopped");
  });
});
