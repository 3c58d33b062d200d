// quilt-daemon.service's way of running the daemon: `quilt daemon run` in the foreground, a
// child of its supervisor (systemd; here the test), readiness by `quilt daemon
// status --wait` (the unit's ExecStartPost). After a kill -9, the supervisor starts `quilt
// daemon run` again (Restart=on-failure) and that daemon clears the stale mount and mounts it
// again from its records; a SIGTERM (systemctl stop) unmounts, exits 0 and forgets the mount.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mountState } from "../../src/fs/mount-table.js";
import { readMountRecords } from "../../src/daemon/mount-records.js";
import { DaemonSandbox } from "../helpers/daemon-harness.js";
import { mountDifferences, publishFiles } from "../helpers/daemon-fixtures.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";
import { REPO_ROOT } from "../helpers/moto-server.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";

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

/** `quilt daemon run` as systemd's ExecStart runs it: in the foreground, its exit observed. */
function daemonRun(box: DaemonSandbox): { child: ChildProcess; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const child = spawn(process.execPath, [join(REPO_ROOT, "bin", "quilt.js"), "daemon", "run"], { env: { ...process.env, ...box.env }, stdio: "ignore" });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  return { child, exit };
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
    const first = daemonRun(box);
    children.push(first.child);
    await box.ok(["daemon", "status", "--wait", "30"]);
    const mnt = await box.mountDir();
    const mounted = await box.mount(`${name}:v1`, mnt, registry);
    // The supervised daemon serves it: `quilt mount` did not start one of its own.
    expect(mounted.stdout).not.toContain("Started the quilt daemon");
    expect(await mountDifferences(mnt, FILES)).toEqual([]);

    first.child.kill("SIGKILL");
    expect((await first.exit).signal).toBe("SIGKILL");
    expect(await mountState(mnt)).toBe("stale");

    // Restart=on-failure: the same command line again.
    const second = daemonRun(box);
    children.push(second.child);
    const status = await box.ok(["daemon", "status", "--wait", "30", "--json"]);
    expect((JSON.parse(status.stdout) as { pid: number; mounts: number }).mounts).toBe(1);
    expect(await mountState(mnt), await box.logTail()).toBe("live");
    expect(await mountDifferences(mnt, FILES)).toEqual([]);
    const listed = JSON.parse((await box.ok(["mounts", "--json"])).stdout) as { mountpoint: string; package: string; state: string }[];
    expect(listed.map((m) => [m.mountpoint, m.package, m.state])).toEqual([[mnt, `${name}:v1`, "mounted"]]);

    // systemctl stop: SIGTERM. Exit 0 (so Restart=on-failure does not restart it), nothing left mounted or to restore.
    second.child.kill("SIGTERM");
    expect(await second.exit).toEqual({ code: 0, signal: null });
    expect(await mountState(mnt)).toBe("none");
    expect(await readMountRecords(join(box.stateDir, "mounts.json"))).toEqual([]);
  });
});
