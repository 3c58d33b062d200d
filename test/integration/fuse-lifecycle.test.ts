// Mounting and unmounting for real: clean unmount, busy mounts, the stale mount a SIGKILL
// leaves behind (cleared, then mounted again at the same place) and refused mount points.
import { lstatSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { QuiltFilesystem } from "../../src/fs/filesystem.js";
import { mount } from "../../src/fs/fuse-mount.js";
import { MemoryEntryReader, entryBytes } from "../../src/fs/memory-reader.js";
import { clearStaleMount, fusermountUnmount, mountAt, mountState } from "../../src/fs/mount-table.js";
import { fsManifest, type FileSpec } from "../helpers/fs-fixtures.js";
import { FuseServer, fuseUnavailable } from "../helpers/fuse-harness.js";

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`Skipping FUSE lifecycle tests: ${unavailable}`);

const FILES: FileSpec[] = [
  { key: "a/b.bin", size: 100_000 },
  { key: "c.txt", size: 10 },
];

describe.skipIf(unavailable !== null)("FUSE mount lifecycle", () => {
  const servers: FuseServer[] = [];
  const dirs: string[] = [];
  const start = async (at?: string): Promise<FuseServer> => {
    const s = await FuseServer.start({ files: FILES }, at);
    servers.push(s);
    return s;
  };
  const tempDir = async (): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), "quilt-fuse-life-"));
    dirs.push(d);
    return d;
  };

  afterAll(async () => {
    for (const s of servers) await s.close();
    for (const d of dirs) if (!(await mountAt(join(d, "mnt")))) await rm(d, { recursive: true, force: true });
  });

  it("unmounts cleanly, after which the serving process exits on its own", async () => {
    const s = await start();
    expect(await mountState(s.mountpoint)).toBe("live");
    await s.request({ op: "unmount" });
    expect(await mountAt(s.mountpoint)).toBeUndefined();
    // No process.exit in the server: it only ends if the binding let go of the event loop.
    expect(await s.waitExit(10_000)).toBe(0);
  });

  it("unmounts a mount someone already took down with fusermount -u", async () => {
    const s = await start();
    await fusermountUnmount(s.mountpoint);
    expect(await mountAt(s.mountpoint)).toBeUndefined();
    await s.request({ op: "unmount" });
    expect(await s.waitExit(10_000)).toBe(0);
  });

  it("refuses to unmount a busy mount unless forced", async () => {
    const s = await start();
    const fh = await open(join(s.mountpoint, "a/b.bin"), "r");
    try {
      await expect(s.request({ op: "unmount" })).rejects.toThrow(/busy/i);
      expect(await mountState(s.mountpoint)).toBe("live");
      const buf = Buffer.alloc(100);
      await fh.read(buf, 0, 100, 5000);
      expect(buf.equals(entryBytes("a/b.bin", 5000, 100))).toBe(true);
      await s.request({ op: "unmount", force: true });
      expect(await mountAt(s.mountpoint)).toBeUndefined();
    } finally {
      await fh.close().catch(() => undefined);
    }
    expect(await s.waitExit(10_000)).toBe(0);
  });

  it("clears the stale mount a killed server leaves and mounts again at the same place", async () => {
    const mnt = join(await tempDir(), "mnt");
    await mkdir(mnt);
    const first = await start(mnt);
    expect(readFileSync(join(mnt, "c.txt")).equals(entryBytes("c.txt", 0, 10))).toBe(true);
    await first.kill();
    expect(await mountState(mnt)).toBe("stale");
    // (A name the kernel has not cached yet: cached attributes outlive the server.)
    expect(() => lstatSync(join(mnt, "not-looked-up-before"))).toThrow(
      expect.objectContaining({ code: "ENOTCONN" }),
    );
    expect(await clearStaleMount(mnt)).toBe(true);
    expect(await mountState(mnt)).toBe("none");
    const second = await start(mnt);
    expect(readFileSync(join(mnt, "a/b.bin")).equals(entryBytes("a/b.bin", 0, 100_000))).toBe(true);
    await second.request({ op: "unmount" });
    expect(await mountAt(mnt)).toBeUndefined();
  });

  it("mounts over a stale mount directly: mount() clears it first", async () => {
    const mnt = join(await tempDir(), "mnt");
    await mkdir(mnt);
    const crashed = await start(mnt);
    await crashed.kill();
    expect(await mountState(mnt)).toBe("stale");
    const next = await start(mnt);
    expect(await mountState(mnt)).toBe("live");
    expect(readFileSync(join(mnt, "c.txt")).length).toBe(10);
    await next.request({ op: "unmount" });
  });

  it("refuses a live mount point, a non-empty directory and a missing one", async () => {
    const core = new QuiltFilesystem(fsManifest(FILES), new MemoryEntryReader(), {
      uid: 0,
      gid: 0,
      time: new Date(),
    });
    const live = await start();
    await expect(mount(core, live.mountpoint)).rejects.toThrow(/already a mount point/);
    const full = await tempDir();
    await writeFile(join(full, "something"), "x");
    await expect(mount(core, full)).rejects.toThrow(/not empty/);
    await expect(mount(core, join(full, "missing"))).rejects.toThrow(/does not exist/);
    expect(await mountAt(full)).toBeUndefined();
    expect(await mountState(live.mountpoint)).toBe("live");
  });
});
