// What `quilt mount` prints: the usual line, and for a mount that took more than a second,
// how long it took and the manifest's size and entries (a large manifest is the usual cause).
import { describe, expect, it } from "vitest";
import { mountedLine } from "../../src/cli/mount-command.js";
import type { MountInfoReply } from "../../src/daemon/package-mount.js";

const info = {
  package: "ns/big:v1",
  topHash: "0123456789abcdef",
  mountpoint: "/mnt/big",
  entries: 1_000_000,
  totalBytes: 5 * 1024 ** 3,
  manifestBytes: 12.3 * 1024 ** 2,
} as MountInfoReply;

describe("quilt mount's line", () => {
  it("a quick mount: what and where", () => {
    expect(mountedLine(info, 0.4)).toBe("Mounted ns/big:v1 (012345678) at /mnt/big: 1000000 files, 5.0 GiB");
    expect(mountedLine(info, 1)).toBe("Mounted ns/big:v1 (012345678) at /mnt/big: 1000000 files, 5.0 GiB");
  });

  it("a slow mount: the time and the manifest", () => {
    expect(mountedLine(info, 3.24)).toBe(
      "Mounted ns/big:v1 (012345678) at /mnt/big: 1000000 files, 5.0 GiB in 3.2 s (manifest 12.3 MiB, 1,000,000 entries)",
    );
    expect(mountedLine({ ...info, manifestBytes: null }, 2)).toBe(
      "Mounted ns/big:v1 (012345678) at /mnt/big: 1000000 files, 5.0 GiB in 2.0 s (manifest of 1,000,000 entries)",
    );
  });

  it("already mounted: no time, nothing was done", () => {
    expect(mountedLine({ ...info, alreadyMounted: true } as MountInfoReply, 5)).toBe(
      "Already mounted: ns/big:v1 (012345678) at /mnt/big: 1000000 files, 5.0 GiB",
    );
  });
});
