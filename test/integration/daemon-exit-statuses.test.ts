// Failures of the mount commands through the real CLI exit with the status README documents
// for their code, the code having travelled from the daemon over its socket: a mount point
// already used by another mount and a second daemon are "busy" (7), an open file in a mount
// makes it busy to unmount (7), and a daemon without fusermount on its PATH says FUSE is
// unavailable (8) instead of a binding error, and mounts nothing.
import { open, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exitCodeFor } from "../../src/cli/exit-codes.js";
import { mountAt, mountState } from "../../src/fs/mount-table.js";
import { DaemonSandbox } from "../helpers/daemon-harness.js";
import { publishFiles } from "../helpers/daemon-fixtures.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";
import { s3TestEnv } from "../helpers/s3.js";

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`Skipping daemon exit-status tests: ${unavailable}`);

const s3 = s3TestEnv();
const FILES = { "a.txt": Buffer.from("first\n") };
const OTHER = { "b.txt": Buffer.from("second\n") };

describe.skipIf(unavailable !== null)("daemon: exit statuses of the mount commands", () => {
  let box: DaemonSandbox;
  let registry = "";

  beforeAll(async () => {
    box = await DaemonSandbox.create("exit", { endpoint: s3.endpoint });
    registry = join(box.root, "registry");
    await publishFiles(s3.endpoint, registry, "ns/first", FILES, { prefix: "data/" });
    await publishFiles(s3.endpoint, registry, "ns/other", OTHER, { prefix: "data/" });
  });

  afterAll(async () => {
    await box?.cleanup();
  });

  it("a mount point in use and a second daemon are busy (EBUSY, exit 7)", async () => {
    const mnt = await box.mountDir("busy");
    await box.mount("ns/first:v1", mnt, registry);
    const taken = await box.cli(["mount", "ns/other:v1", mnt, "--registry", registry]);
    expect(taken.code, taken.stderr).toBe(exitCodeFor("EBUSY"));
    expect(taken.code).toBe(7);
    expect(taken.stderr).toMatch(
      new RegExp(`^Error: ${mnt} is already mounted \\(ns/first@[0-9a-f]{9}\\)\\nhint: unmount it first`),
    );
    expect(await mountState(mnt)).toBe("live");

    const second = await box.cli(["daemon", "run"]);
    expect(second.code, second.stderr).toBe(7);
    expect(second.stderr).toMatch(/^Error: A daemon is already running\nhint: /);

    // A file open inside the mount: unmounting without --force is refused as busy.
    const handle = await open(join(mnt, "a.txt"));
    try {
      const held = await box.cli(["unmount", mnt]);
      expect(held.code, held.stderr).toBe(7);
      expect(held.stderr).toMatch(/^Error: Cannot unmount .*busy/im);
      expect(held.stderr).toMatch(/^hint: a process still uses the mount/m);
    } finally {
      await handle.close();
    }
    await box.ok(["unmount", mnt]);
  });

  it("a daemon without fusermount on its PATH: FUSE unavailable (ENOFUSE, exit 8), nothing mounted", async () => {
    const other = await DaemonSandbox.create("nofuse", { endpoint: s3.endpoint });
    const emptyBin = await mkdtemp(join(tmpdir(), "quilt-empty-bin-"));
    try {
      const mnt = await other.mountDir("m");
      const r = await other.cli(["mount", "ns/first:v1", mnt, "--registry", registry], { PATH: emptyBin });
      expect(r.code, `${r.stderr}\n${await other.logTail()}`).toBe(exitCodeFor("ENOFUSE"));
      expect(r.code).toBe(8);
      expect(r.stderr).toContain(
        `Error: FUSE is not available: no fusermount3 on the PATH of the quilt daemon (${emptyBin})`,
      );
      expect(r.stderr).toMatch(/^hint: install FUSE/m);
      expect(await mountAt(mnt)).toBeUndefined();
    } finally {
      await other.cleanup();
      await rm(emptyBin, { recursive: true, force: true });
    }
  });
});
