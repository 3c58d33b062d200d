// A package version as an fstab line: real mount(8) runs bin/mount.quilt the way it would at
// boot, and the mount serves the package's bytes. mount(8) finds `-t fuse.quilt` helpers only
// in /sbin, so this test takes the other documented route, which needs nothing installed:
// `-t fuse` with the source `/path/to/mount.quilt#SPEC`, through the system's mount.fuse
// (which resets PATH and passes the options on). The `-t fuse.quilt` convention
// (`mount.fuse.quilt SPEC DIR -o OPTIONS -t fuse.quilt`) is checked by calling the helper
// directly with those arguments. Options carry the state directory and S3 endpoint, since
// a boot-time mount has no shell to take them from.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mountState } from "../../src/fs/mount-table.js";
import { DaemonSandbox } from "../helpers/daemon-harness.js";
import { mountDifferences, publishFiles } from "../helpers/daemon-fixtures.js";
import { fuseUnavailable, run } from "../helpers/fuse-harness.js";
import { FAKE_AWS_ENV, REPO_ROOT } from "../helpers/moto-server.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";

const MOUNT = "/usr/bin/mount";
const MOUNT_FUSE = "/sbin/mount.fuse";
const unavailable =
  fuseUnavailable() ??
  (process.getuid?.() !== 0
    ? "mount(8) needs root"
    : !existsSync(MOUNT) || !existsSync(MOUNT_FUSE)
      ? `no ${MOUNT} or ${MOUNT_FUSE}`
      : null);
if (unavailable) console.warn(`Skipping boot mount tests: ${unavailable}`);

const s3 = s3TestEnv();
const registry = `s3://${s3.bucket}`;
const salt = uniquePrefix("bootmnt");
const name = `${salt}/boot`;
const FILES: Record<string, Buffer> = {
  "README.md": Buffer.from(`# Boot ${salt}\n`),
  "train/a.bin": Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251)),
};
const HELPER = join(REPO_ROOT, "bin", "mount.quilt");

describe.skipIf(unavailable !== null)("boot mounts: mount(8) and mount.quilt", () => {
  let box: DaemonSandbox;
  /** What a boot-time mount has: no QUILT_* or endpoint variables, only what the fstab line says (and credentials). */
  let bootEnv: NodeJS.ProcessEnv;
  let options = "";

  beforeAll(async () => {
    await publishFiles(s3.endpoint, registry, name, FILES, { prefix: `${salt}-data/` });
    box = await DaemonSandbox.create("boot", { endpoint: s3.endpoint });
    bootEnv = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith("QUILT_") && !k.startsWith("AWS_")),
    );
    Object.assign(bootEnv, FAKE_AWS_ENV);
    delete bootEnv.AWS_ENDPOINT_URL;
    options = `registry=${registry},state_dir=${box.stateDir},cache_home=${box.cacheDir},endpoint=${s3.endpoint},cache_size=64M`;
  });

  afterAll(async () => {
    await box?.cleanup();
  });

  it("mount -t fuse 'mount.quilt#SPEC' DIR -o OPTIONS mounts the version and serves its bytes", async () => {
    const mnt = await box.mountDir("fstab");
    // What fstab's `defaults,_netdev,nofail,x-systemd.requires=...` adds, as mount(8) passes it on.
    const r = await run(
      MOUNT,
      [
        "-t",
        "fuse",
        `${HELPER}#${name}:v1`,
        mnt,
        "-o",
        `${options},_netdev,nofail,x-systemd.requires=quilt-daemon.service,noatime`,
      ],
      { env: bootEnv },
    );
    expect(r.code, `${r.stdout}\n${r.stderr}\n${await box.logTail()}`).toBe(0);
    expect(r.stdout).toContain(`Mounted ${name}:v1`);
    expect(await mountState(mnt)).toBe("live");
    expect(await mountDifferences(mnt, FILES)).toEqual([]);
    // The daemon the helper started is the one of state_dir: `quilt mounts` there lists it.
    const listed = JSON.parse((await box.ok(["mounts", "--json"])).stdout) as {
      mountpoint: string;
      package: string;
      registry: string;
    }[];
    expect(listed.map((m) => [m.mountpoint, m.package, m.registry])).toEqual([[mnt, `${name}:v1`, registry]]);
    // Mounting it again (a second `mount -a`) changes nothing and succeeds.
    const again = await run(MOUNT, ["-t", "fuse", `${HELPER}#${name}:v1`, mnt, "-o", options], {
      env: bootEnv,
    });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("Already mounted");
    // umount(8), as systemd unmounts an fstab line at shutdown: the daemon forgets the mount
    // (not listed, not restored by the next daemon), and the next `mount` mounts it for real.
    const umount = await run("umount", [mnt]);
    expect(umount.code, umount.stderr).toBe(0);
    expect(JSON.parse((await box.ok(["mounts", "--json"])).stdout)).toEqual([]);
    const remount = await run(MOUNT, ["-t", "fuse", `${HELPER}#${name}:v1`, mnt, "-o", options], {
      env: bootEnv,
    });
    expect(remount.code, remount.stderr).toBe(0);
    expect(remount.stdout).toContain(`Mounted ${name}:v1`);
    expect(await mountDifferences(mnt, FILES)).toEqual([]);
    await box.ok(["unmount", mnt]);
    expect(await mountState(mnt)).toBe("none");
  });

  it("mount(8)'s helper convention for -t fuse.quilt: SPEC DIR -o OPTIONS -t fuse.quilt", async () => {
    const mnt = await box.mountDir("typed");
    const r = await run(HELPER, [`${name}:v1`, mnt, "-o", `rw,dev,suid,${options}`, "-t", "fuse.quilt"], {
      env: bootEnv,
    });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(await mountDifferences(mnt, FILES)).toEqual([]);
    await box.ok(["unmount", mnt]);
  });

  it("a bad line fails with quilt's status and a message mount(8) shows; -f mounts nothing", async () => {
    const mnt = await box.mountDir("bad");
    const bad = await run(MOUNT, ["-t", "fuse", `${HELPER}#${name}:v1`, mnt, "-o", `${options},uid=1000`], {
      env: bootEnv,
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("Error: Unknown mount option uid=1000");
    const missing = await run(MOUNT, ["-t", "fuse", `${HELPER}#${name}:no-such-tag`, mnt, "-o", options], {
      env: bootEnv,
    });
    expect(missing.code, missing.stderr).toBe(4);
    expect(missing.stderr).toContain("no-such-tag");
    const fake = await run(HELPER, [`${name}:v1`, mnt, "-f", "-o", options], { env: bootEnv });
    expect(fake.code).toBe(0);
    expect(fake.stdout).toContain(`Would run: quilt mount ${name}:v1 ${mnt} --registry ${registry}`);
    expect(await mountState(mnt)).toBe("none");
  });
});
