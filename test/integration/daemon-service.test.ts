// The units in deploy/systemd, their commands run as systemd would run them (with no systemd
// here to do it): quilt-daemon.service's `quilt daemon run` in the foreground, a child of its
// supervisor (here the test), ready by `quilt daemon status --wait` (its ExecStartPost).
// After a kill -9, the supervisor starts `quilt daemon run` again (Restart=on-failure) and
// that daemon clears the stale mount and mounts it again from its records; a SIGTERM
// (systemctl stop) unmounts, exits 0 and forgets the mount.
// quilt-mount@.service's commands for an instance (the escaped mount point) and its env file
// mount the version there and unmount it.
import { spawn, type ChildProcess } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mountState } from "../../src/fs/mount-table.js";
import { readMountRecords } from "../../src/daemon/mount-records.js";
import { DaemonSandbox } from "../helpers/daemon-harness.js";
import { mountDifferences, publishFiles } from "../helpers/daemon-fixtures.js";
import { fuseUnavailable, run } from "../helpers/fuse-harness.js";
import { REPO_ROOT } from "../helpers/moto-server.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";
import { execWords, parseUnit, readEnvironmentFile, unitValues } from "../helpers/systemd-unit.js";

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`Skipping daemon service tests: ${unavailable}`);

const s3 = s3TestEnv();
const registry = `s3://${s3.bucket}`;
const salt = uniquePrefix("dmsvc");
const name = `${salt}/svc`;
const FILES: Record<string, Buffer> = {
  "README.md": Buffer.from(`# Service ${salt}\n`),
  "data/x.bin": Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256)),
};

const UNITS = join(REPO_ROOT, "deploy", "systemd");
const QUILT = join(REPO_ROOT, "bin", "quilt.js");

/** A unit's Exec line as systemd would run it here: this checkout's quilt for /usr/local/bin/quilt. */
function command(line: string, instancePath = "", env: Record<string, string> = {}): [string, string[]] {
  const [program, ...args] = execWords(line, { instancePath, env });
  return program === "/usr/local/bin/quilt"
    ? [process.execPath, [QUILT, ...args]]
    : [program as string, args];
}

async function unit(file: string) {
  return parseUnit(await readFile(join(UNITS, file), "utf8"));
}

/** quilt-daemon.service's ExecStart: the daemon in the foreground, its exit observed. */
async function daemonRun(
  box: DaemonSandbox,
): Promise<{ child: ChildProcess; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> }> {
  const [program, args] = command(
    unitValues(await unit("quilt-daemon.service"), "Service", "ExecStart")[0] as string,
  );
  const child = spawn(program, args, { env: { ...process.env, ...box.env }, stdio: "ignore" });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, exit };
}

/** quilt-daemon.service's ExecStartPost: returns once the daemon serves its mounts. */
async function waitReady(box: DaemonSandbox): Promise<void> {
  const [program, args] = command(
    unitValues(await unit("quilt-daemon.service"), "Service", "ExecStartPost")[0] as string,
  );
  const r = await run(program, args, { env: { ...process.env, ...box.env } });
  expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
}

describe.skipIf(unavailable !== null)("daemon as a service: quilt daemon run, kill -9, run again", () => {
  let box: DaemonSandbox;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    await publishFiles(s3.endpoint, registry, name, FILES, { prefix: `${salt}-data/` });
    box = await DaemonSandbox.create("svc", { endpoint: s3.endpoint });
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await box?.cleanup();
  });

  it("status --wait: not running is exit 1 after the wait", async () => {
    const r = await box.cli(["daemon", "status", "--wait", "0.2"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("Daemon: not running");
  });

  it("a restarted `quilt daemon run` restores the mounts of the one killed, and SIGTERM ends it cleanly", async () => {
    const first = await daemonRun(box);
    children.push(first.child);
    await waitReady(box);
    const mnt = await box.mountDir();
    const mounted = await box.mount(`${name}:v1`, mnt, registry);
    // The supervised daemon serves it: `quilt mount` did not start one of its own.
    expect(mounted.stdout).not.toContain("Started the quilt daemon");
    expect(await mountDifferences(mnt, FILES)).toEqual([]);

    first.child.kill("SIGKILL");
    expect((await first.exit).signal).toBe("SIGKILL");
    expect(await mountState(mnt)).toBe("stale");

    // Restart=on-failure: the same command line again.
    const second = await daemonRun(box);
    children.push(second.child);
    await waitReady(box);
    const status = await box.ok(["daemon", "status", "--wait", "30", "--json"]);
    expect((JSON.parse(status.stdout) as { pid: number; mounts: number }).mounts).toBe(1);
    expect(await mountState(mnt), await box.logTail()).toBe("live");
    expect(await mountDifferences(mnt, FILES)).toEqual([]);
    const listed = JSON.parse((await box.ok(["mounts", "--json"])).stdout) as {
      mountpoint: string;
      package: string;
      state: string;
    }[];
    expect(listed.map((m) => [m.mountpoint, m.package, m.state])).toEqual([[mnt, `${name}:v1`, "mounted"]]);

    // systemctl stop: SIGTERM. Exit 0 (so Restart=on-failure does not restart it), nothing left mounted or to restore.
    second.child.kill("SIGTERM");
    expect(await second.exit).toEqual({ code: 0, signal: null });
    expect(await mountState(mnt)).toBe("none");
    expect(await readMountRecords(join(box.stateDir, "mounts.json"))).toEqual([]);
  });

  it("quilt-mount@.service's commands, run as systemd runs them for an instance, mount and unmount the version", async () => {
    const daemon = await daemonRun(box);
    children.push(daemon.child);
    await waitReady(box);
    const mnt = join(box.root, "boot", "dataset"); // ExecStartPre makes it
    const instance = (await run("systemd-escape", ["--path", mnt])).stdout.trim();
    expect((await run("systemd-escape", ["--unescape", "--path", instance])).stdout.trim()).toBe(mnt);
    const envFile = join(box.root, `${instance}.env`);
    await writeFile(
      envFile,
      `QUILT_SPEC=${name}:v1\nQUILT_REGISTRY=${registry}\nQUILT_MOUNT_OPTIONS=--verify strict\n`,
    );
    const env = { ...box.env, ...(await readEnvironmentFile(envFile)) };
    const service = await unit("quilt-mount@.service");
    const exec = async (key: string) => {
      for (const line of unitValues(service, "Service", key)) {
        const [program, args] = command(line, mnt, env);
        const r = await run(program, args, { env: { ...process.env, ...env } });
        expect(r.code, `${key}: ${program} ${args.join(" ")}\n${r.stdout}${r.stderr}`).toBe(0);
      }
    };
    await box.mountDir("boot/dataset"); // for cleanup only: ExecStartPre makes it anyway
    await exec("ExecStartPre");
    await exec("ExecStart");
    expect(await mountDifferences(mnt, FILES)).toEqual([]);
    const listed = JSON.parse((await box.ok(["mounts", "--json"])).stdout) as {
      mountpoint: string;
      package: string;
      verify: string;
    }[];
    expect(listed.map((m) => [m.mountpoint, m.package, m.verify])).toEqual([[mnt, `${name}:v1`, "strict"]]);
    // A second start (systemctl restart of the unit) is not an error.
    await exec("ExecStart");
    await exec("ExecStop");
    expect(await mountState(mnt)).toBe("none");
    daemon.child.kill("SIGTERM");
    expect((await daemon.exit).code).toBe(0);
  });
});
