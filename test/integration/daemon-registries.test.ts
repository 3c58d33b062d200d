// One daemon, mounts of several registries: the registry is resolved in the shell that runs
// `quilt mount` (its QUILT_REGISTRY), not in the environment of the shell that started the
// daemon. Two local registries hold a package of the same name with different bytes; each
// mount serves its own registry's bytes, also after kill -9 and a restart from a third
// shell. A mount request that names no registry is refused by the daemon itself.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DaemonClient } from "../../src/daemon/client.js";
import type { MountRecord } from "../../src/daemon/mount-records.js";
import { daemonPaths } from "../../src/daemon/paths.js";
import { mountAt, mountState } from "../../src/fs/mount-table.js";
import { DaemonSandbox } from "../helpers/daemon-harness.js";
import { mountDifferences, publishFiles } from "../helpers/daemon-fixtures.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";
import { s3TestEnv } from "../helpers/s3.js";

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`Skipping daemon registry tests: ${unavailable}`);

const s3 = s3TestEnv();
const NAME = "ns/same";
const FILES_1: Record<string, Buffer> = {
  "which.txt": Buffer.from("registry one\n"),
  "only-in-one.txt": Buffer.from("1"),
};
const FILES_2: Record<string, Buffer> = {
  "which.txt": Buffer.from("registry two, with other bytes\n"),
  "sub/only-in-two.bin": Buffer.from([2, 2, 2]),
};

interface Listed {
  mountpoint: string;
  package: string;
  registry: string;
  s3: Record<string, string> | null;
}

describe.skipIf(unavailable !== null)("daemon: mounts of several registries", () => {
  let box: DaemonSandbox;
  let reg1 = "";
  let reg2 = "";
  let mnt1 = "";
  let mnt2 = "";

  beforeAll(async () => {
    box = await DaemonSandbox.create("registries", { endpoint: s3.endpoint });
    reg1 = join(box.root, "registry-1");
    reg2 = join(box.root, "registry-2");
    await publishFiles(s3.endpoint, reg1, NAME, FILES_1, { prefix: "data/" });
    await publishFiles(s3.endpoint, reg2, NAME, FILES_2, { prefix: "data/" });
    mnt1 = await box.mountDir("one");
    mnt2 = await box.mountDir("two");
  });

  afterAll(async () => {
    await box?.cleanup();
  });

  it("mounts the same name from the registry of each calling shell", async () => {
    // The first mount starts the daemon, with QUILT_REGISTRY=reg1 in its environment.
    const first = await box.ok(["mount", `${NAME}:v1`, mnt1], { QUILT_REGISTRY: reg1 });
    expect(first.stdout).toContain("Started the quilt daemon");
    const second = await box.ok(["mount", `${NAME}:v1`, mnt2], { QUILT_REGISTRY: reg2 });
    expect(second.stdout).not.toContain("Started the quilt daemon");

    expect(await mountDifferences(mnt1, FILES_1)).toEqual([]);
    expect(await mountDifferences(mnt2, FILES_2)).toEqual([]);

    const listed = JSON.parse((await box.ok(["mounts", "--json"])).stdout) as Listed[];
    const byMount = Object.fromEntries(listed.map((m) => [m.mountpoint, m]));
    expect(byMount[mnt1]).toMatchObject({ package: `${NAME}:v1`, registry: pathToFileURL(reg1).href });
    expect(byMount[mnt2]).toMatchObject({ package: `${NAME}:v1`, registry: pathToFileURL(reg2).href });
    expect(byMount[mnt1]?.s3).toMatchObject({ endpoint: s3.endpoint });

    // verify on a mount refuses a --registry other than the mount's own.
    const wrong = await box.cli(["verify", mnt2, "--registry", reg1]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(
      `is mounted from ${pathToFileURL(reg2).href}, not from ${pathToFileURL(reg1).href}`,
    );
    await box.ok(["verify", mnt2, "--registry", reg2]);
  });

  it("keeps --verify strict and the S3 context in the mount record, and refuses an unknown mode", async () => {
    const mnt3 = await box.mountDir("strict");
    await box.ok(["mount", `${NAME}:v1`, mnt3, "--verify", "strict", "--registry", reg2]);
    const records = (
      JSON.parse(await readFile(join(box.stateDir, "mounts.json"), "utf8")) as { mounts: MountRecord[] }
    ).mounts;
    expect(records.find((r) => r.mountpoint === mnt3)).toMatchObject({
      registry: pathToFileURL(reg2).href,
      verify: "strict",
      s3: { endpoint: s3.endpoint, region: "us-east-1" },
    });
    expect(records.find((r) => r.mountpoint === mnt1)?.verify).toBeUndefined();
    expect(JSON.stringify(records)).not.toContain("testing"); // the sandbox's credentials are not recorded
    await box.ok(["unmount", mnt3]);

    const r = await box.cli(["mount", `${NAME}:v1`, await box.mountDir("never"), "--verify", "paranoid"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Choices:");
  });

  it("refuses a mount request that names no registry, or an unresolved one", async () => {
    const client = new DaemonClient(daemonPaths(box.env).socket);
    const dir = await box.mountDir("unnamed");
    // Wrong shapes on purpose (`as never`): the typed client would not send them, another client could.
    await expect(
      client.request("mount", { spec: `${NAME}:v1`, mountpoint: dir } as never),
    ).rejects.toMatchObject({
      code: "EUSAGE",
      message: expect.stringContaining('needs a resolved "registry"'),
    });
    await expect(
      client.request("mount", { spec: `${NAME}:v1`, mountpoint: dir, registry: "registry-1" }),
    ).rejects.toMatchObject({ code: "EUSAGE" });
    await expect(
      client.request("mount", {
        spec: `${NAME}:v1`,
        mountpoint: dir,
        registry: pathToFileURL(reg1).href,
        s3: { endpoint: 7 },
      } as never),
    ).rejects.toMatchObject({ code: "EUSAGE" });
    expect(await mountAt(dir)).toBeUndefined();
  });

  it("remounts each with its own registry after kill -9, restarted from a shell with another QUILT_REGISTRY", async () => {
    await box.kill9();
    expect(await mountState(mnt1)).toBe("stale");
    await box.ok(["daemon", "start"], { QUILT_REGISTRY: join(box.root, "registry-none") });
    expect(await mountState(mnt1), await box.logTail()).toBe("live");
    expect(await mountState(mnt2), await box.logTail()).toBe("live");
    expect(await mountDifferences(mnt1, FILES_1)).toEqual([]);
    expect(await mountDifferences(mnt2, FILES_2)).toEqual([]);
    const listed = JSON.parse((await box.ok(["mounts", "--json"])).stdout) as Listed[];
    expect(Object.fromEntries(listed.map((m) => [m.mountpoint, m.registry]))).toEqual({
      [mnt1]: pathToFileURL(reg1).href,
      [mnt2]: pathToFileURL(reg2).href,
    });
  });
});
