// --allow-other for a training user other than the daemon's (root here): with it, another
// uid reads the mount; without it, FUSE refuses that uid (EACCES) whatever the file modes.
// With it, anyone who can reach the mount point can read: a parent directory of mode 0750
// and a group limits it to that group (README, "Running on a GPU cluster").
import { chmod, chown, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DaemonSandbox } from "../helpers/daemon-harness.js";
import { publishFiles } from "../helpers/daemon-fixtures.js";
import { fuseUnavailable, run } from "../helpers/fuse-harness.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";

const SETPRIV = "/usr/bin/setpriv";
const unavailable =
  fuseUnavailable() ?? (process.getuid?.() !== 0 ? "reading as another uid needs root" : null);
if (unavailable) console.warn(`Skipping --allow-other tests: ${unavailable}`);

const s3 = s3TestEnv();
const registry = `s3://${s3.bucket}`;
const salt = uniquePrefix("allowoth");
const name = `${salt}/shared`;
const TEXT = `read by another user ${salt}\n`;
const FILES: Record<string, Buffer> = { "train/labels.txt": Buffer.from(TEXT) };
/** nobody:nogroup, and a group standing for "the training users". */
const NOBODY = 65534;
const TRAINERS = 4242;

/** `cat FILE` as uid/gid nobody, with `groups` as its only supplementary groups. */
function catAsNobody(file: string, groups: number[] = []) {
  return run(SETPRIV, [
    `--reuid=${NOBODY}`,
    `--regid=${NOBODY}`,
    ...(groups.length > 0 ? [`--groups=${groups.join(",")}`] : ["--clear-groups"]),
    "cat",
    file,
  ]);
}

describe.skipIf(unavailable !== null)("mount --allow-other", () => {
  let box: DaemonSandbox;
  let open = "";
  let closed = "";
  let grouped = "";

  beforeAll(async () => {
    await publishFiles(s3.endpoint, registry, name, FILES, { prefix: `${salt}-data/` });
    box = await DaemonSandbox.create("allowother", { endpoint: s3.endpoint });
    // Other users may traverse the sandbox (mkdtemp made it 0700) but not list it.
    await chmod(box.root, 0o711);
    open = await box.mountDir("open");
    closed = await box.mountDir("closed");
    await mkdir(join(box.root, "trainers"), { mode: 0o750 });
    await chown(join(box.root, "trainers"), 0, TRAINERS);
    await chmod(join(box.root, "trainers"), 0o750);
    grouped = await box.mountDir("trainers/mnt");
    await box.mount(`${name}:v1`, open, registry, ["--allow-other"]);
    await box.mount(`${name}:v1`, closed, registry);
    await box.mount(`${name}:v1`, grouped, registry, ["--allow-other"]);
  });

  afterAll(async () => {
    await box?.cleanup();
  });

  it("another uid reads a mount made with --allow-other", async () => {
    const r = await catAsNobody(join(open, "train/labels.txt"));
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(TEXT);
    const mounts = JSON.parse((await box.ok(["mounts", "--json"])).stdout) as {
      mountpoint: string;
      allowOther?: boolean;
    }[];
    expect(mounts.find((m) => m.mountpoint === open)?.allowOther).toBe(true);
    expect(mounts.find((m) => m.mountpoint === closed)?.allowOther).toBe(false);
  });

  it("without --allow-other the same read fails with EACCES (the daemon's own user still reads)", async () => {
    const r = await catAsNobody(join(closed, "train/labels.txt"));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("Permission denied");
    expect(r.stdout).toBe("");
    const own = await run("cat", [join(closed, "train/labels.txt")]);
    expect(own.stdout).toBe(TEXT);
  });

  it("a 0750 parent directory limits an --allow-other mount to its group", async () => {
    const outsider = await catAsNobody(join(grouped, "train/labels.txt"));
    expect(outsider.stderr).toContain("Permission denied");
    const member = await catAsNobody(join(grouped, "train/labels.txt"), [TRAINERS]);
    expect(member.stderr).toBe("");
    expect(member.stdout).toBe(TEXT);
  });
});
