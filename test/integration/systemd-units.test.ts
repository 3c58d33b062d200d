// The systemd units shipped in deploy/systemd: the keys a boot-time daemon and mount need,
// no sandboxing that would hide the mounts in a private namespace, every quilt command line
// they run accepted by our CLI (each option it uses listed in that command's --help), and,
// where systemd-analyze exists, `systemd-analyze verify` without a warning (it checks every
// key and that each command is executable; the units' /usr/local/bin/quilt is this
// checkout's bin/quilt.js there).
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { run } from "../helpers/fuse-harness.js";
import { REPO_ROOT } from "../helpers/moto-server.js";
import { execWords, parseUnit, unitValues as values, type Unit } from "../helpers/systemd-unit.js";

const UNITS = join(REPO_ROOT, "deploy", "systemd");
const QUILT = "/usr/local/bin/quilt";
const SYSTEMD_ANALYZE = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].find((p) => existsSync(p));

/** A command line from a unit as it would run for the instance /mnt/dataset with a sample env file. */
function expand(line: string): string[] {
  return execWords(line, {
    instancePath: "/mnt/dataset",
    env: { QUILT_SPEC: "ns/dataset:v1", QUILT_MOUNT_OPTIONS: "--allow-other --verify strict" },
  });
}

describe("systemd units", () => {
  let daemon: Unit;
  let mount: Unit;
  let dir = "";

  beforeAll(async () => {
    daemon = parseUnit(await readFile(join(UNITS, "quilt-daemon.service"), "utf8"));
    mount = parseUnit(await readFile(join(UNITS, "quilt-mount@.service"), "utf8"));
    dir = await mkdtemp(join(tmpdir(), "quilt-units-"));
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("the daemon runs in the foreground, restarts on failure and is ready only once it answers", () => {
    expect(values(daemon, "Service", "ExecStart")).toEqual([`${QUILT} daemon run`]);
    expect(values(daemon, "Service", "Restart")).toEqual(["on-failure"]);
    expect(values(daemon, "Service", "ExecStartPost")[0]).toMatch(
      /^\/usr\/local\/bin\/quilt daemon status --wait \d+$/,
    );
    expect(values(daemon, "Install", "WantedBy")).toEqual(["multi-user.target"]);
    // Mounts made in a private mount namespace would be invisible to the node's programs.
    for (const key of [
      "PrivateTmp",
      "ProtectSystem",
      "ProtectHome",
      "PrivateDevices",
      "PrivateMounts",
      "ReadOnlyPaths",
      "InaccessiblePaths",
      "TemporaryFileSystem",
      "MountFlags",
    ]) {
      expect(daemon.get("Service")?.has(key), key).toBe(false);
    }
  });

  it("a mount unit needs the daemon, is ordered after it, and reads its package from a file named by the instance", () => {
    expect(values(mount, "Unit", "Requires")).toEqual(["quilt-daemon.service"]);
    expect(values(mount, "Unit", "After").join(" ")).toContain("quilt-daemon.service");
    expect(values(mount, "Unit", "PartOf")).toEqual(["quilt-daemon.service"]);
    expect(values(mount, "Service", "Type")).toEqual(["oneshot"]);
    expect(values(mount, "Service", "RemainAfterExit")).toEqual(["yes"]);
    expect(values(mount, "Service", "EnvironmentFile")).toContain("/etc/quilt/mounts/%i.env");
    expect(values(mount, "Service", "ExecStart")).toEqual([
      `${QUILT} mount \${QUILT_SPEC} %f $QUILT_MOUNT_OPTIONS`,
    ]);
    expect(values(mount, "Service", "ExecStop")).toEqual([`${QUILT} unmount --force %f`]);
    // Both find the same daemon: the same state directory.
    expect(values(mount, "Service", "Environment")).toEqual(values(daemon, "Service", "Environment"));
    expect(values(mount, "Service", "EnvironmentFile")).toContain(
      values(daemon, "Service", "EnvironmentFile")[0],
    );
  });

  it("every quilt command line in the units is one our CLI accepts", async () => {
    const lines = [daemon, mount]
      .flatMap((u) => ["ExecStart", "ExecStartPost", "ExecStop"].flatMap((k) => values(u, "Service", k)))
      .filter((l) => l.startsWith(QUILT));
    expect(lines.length).toBe(4);
    for (const line of lines) {
      const args = expand(line).slice(1);
      const help = await runCli([...args, "--help"]);
      expect(help.code, `${line}\n${help.stderr}`).toBe(0);
      for (const option of args.filter((a) => a.startsWith("--")))
        expect(help.stdout, `${line}: ${option}`).toContain(`${option} `);
    }
  });

  it.skipIf(SYSTEMD_ANALYZE === undefined)("systemd-analyze verify finds nothing to say", async () => {
    for (const file of ["quilt-daemon.service", "quilt-mount@.service"]) {
      const text = await readFile(join(UNITS, file), "utf8");
      await writeFile(join(dir, file), text.replaceAll(QUILT, join(REPO_ROOT, "bin", "quilt.js")));
    }
    await copyFile(join(UNITS, "quilt.env"), join(dir, "quilt.env"));
    for (const unit of ["quilt-daemon.service", "quilt-mount@mnt-dataset.service"]) {
      const r = await run(SYSTEMD_ANALYZE as string, ["verify", "--man=no", join(dir, unit)], {
        env: { ...process.env, SYSTEMD_LOG_COLOR: "0" },
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr.trim(), unit).toBe("");
    }
    // The check can fail: an unknown key is reported.
    await writeFile(join(dir, "broken.service"), "[Service]\nExecStart=/bin/true\nRestartt=on-failure\n");
    const broken = await run(SYSTEMD_ANALYZE as string, ["verify", "--man=no", join(dir, "broken.service")]);
    expect(broken.stderr).toContain("Restartt");
  });
});
