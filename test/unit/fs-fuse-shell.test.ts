// The FUSE shell's translations, without a kernel mount: mount options and errno numbers.
import { constants } from "node:os";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fuseErrno } from "../../src/fs/fuse-operations.js";
import { mountOptionString, KERNEL_CACHE_SECONDS } from "../../src/fs/mount-options.js";
import { FsError, type FsErrno } from "../../src/fs/fs-errors.js";
import {
  canonicalMountPath,
  clearStaleMount,
  mountAt,
  mountState,
  readMountTable,
} from "../../src/fs/mount-table.js";

describe("fuse-mount", () => {
  it("mounts read-only, with the kernel page cache and long cache timeouts (stable inodes: the patched binding)", () => {
    const opts = mountOptionString({ name: "ns/pkg@1234abcd" }).replace(/^-o/, "").split(",");
    // libfuse 3 refuses libfuse 2's use_ino and nonempty (unknown options): the mount would fail.
    expect(opts).not.toContain("use_ino");
    expect(opts).toEqual(
      expect.arrayContaining([
        "ro",
        "auto_cache",
        "ac_attr_timeout=0",
        "default_permissions",
        "subtype=quilt",
        "fsname=quilt:ns/pkg@1234abcd",
      ]),
    );
    for (const t of ["entry_timeout", "attr_timeout", "negative_timeout"])
      expect(opts).toContain(`${t}=${KERNEL_CACHE_SECONDS}`);
    expect(opts).not.toContain("allow_other");
    expect(opts).not.toContain("debug");
    const more = mountOptionString({ allowOther: true, debug: true, nonEmpty: true }).split(",");
    expect(more).toEqual(expect.arrayContaining(["allow_other", "debug"]));
    expect(more).not.toContain("nonempty");
  });

  it("keeps commas and spaces out of the fsname so the option string stays parseable", () => {
    const s = mountOptionString({ name: "evil,allow_other name" });
    expect(s).toContain("fsname=quilt:evil_allow_other_name,");
    expect(s.split(",")).not.toContain("allow_other");
  });

  it("answers each errno as the kernel's negative number, never -1", () => {
    const codes: FsErrno[] = [
      "ENOENT",
      "ENOTDIR",
      "EISDIR",
      "EROFS",
      "EIO",
      "ESTALE",
      "ETIMEDOUT",
      "EBADF",
      "ENODATA",
      "EOPNOTSUPP",
      "ERANGE",
      "E2BIG",
      "EINVAL",
    ];
    for (const code of codes) {
      const n = fuseErrno(new FsError(code, "op", "/p"));
      expect(n, code).toBe(-(constants.errno as Record<string, number>)[code]!);
      expect(n).not.toBe(-1);
    }
    expect(fuseErrno(new Error("unexpected"))).toBe(-constants.errno.EIO);
  });
});

describe("mount-table", () => {
  it("reads the mount table and knows the root is mounted", async () => {
    const table = await readMountTable();
    expect(table.length).toBeGreaterThan(0);
    expect(table.every((m) => m.mountPoint.startsWith("/") && /^\d+:\d+$/.test(m.device))).toBe(true);
    expect((await mountAt("/"))?.mountPoint).toBe("/");
  });

  it("sees a plain directory as not mounted and leaves it alone", async () => {
    const dir = await mkdtemp(join(tmpdir(), "quilt-mt-"));
    try {
      expect(await mountState(dir)).toBe("none");
      expect(await clearStaleMount(dir)).toBe(false);
      expect(await canonicalMountPath(join(dir, "x", "..", "y"))).toBe(
        join(await canonicalMountPath(dir), "y"),
      );
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
