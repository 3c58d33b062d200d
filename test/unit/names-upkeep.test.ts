// Which mount the memory bound picks, check by check (the FUSE side, that the kernel then
// asks again and open files read on, is daemon-kernel-names.test.ts with real mounts): the
// one idle longest, only above the target, never one active within the quiet checks, never
// one that served nothing since it was forgotten; and QUILT_NAMES_MEMORY's parsing.
import { describe, expect, it } from "vitest";
import { namesMemoryBytes } from "../../src/config.js";
import { anonRss, NamesUpkeep, QUIET_CHECKS as Q } from "../../src/daemon/names-upkeep.js";
import type { PackageMount } from "../../src/daemon/package-mount.js";

interface FakeMount {
  requests: number;
  forgotten: number;
  record: { mountpoint: string };
  forgetNames(): Promise<{ notices: number }>;
}

function fake(mountpoint: string): FakeMount {
  const m: FakeMount = {
    requests: 0,
    forgotten: 0,
    record: { mountpoint },
    forgetNames: () => {
      m.forgotten++;
      return Promise.resolve({ notices: 1 });
    },
  };
  return m;
}

/** Runs `n` checks; the names of the mounts each one forgot. */
async function checks(upkeep: NamesUpkeep, n: number): Promise<(string | undefined)[]> {
  const out: (string | undefined)[] = [];
  for (let i = 0; i < n; i++) out.push((await upkeep.check())?.record.mountpoint);
  return out;
}

describe("the memory bound on the kernel's names", () => {
  it("forgets the mount idle longest, one per check, and not again until it served requests", async () => {
    const a = fake("a");
    const b = fake("b");
    let anon = 1000;
    const upkeep = new NamesUpkeep(
      500,
      () => [a, b] as unknown as PackageMount[],
      () => anon,
    );
    // First seen at check 1; b served a request at check 2: a is idle longer.
    expect(await checks(upkeep, 1)).toEqual([undefined]);
    b.requests++;
    expect(await checks(upkeep, Q)).toEqual([...Array(Q - 1).fill(undefined), "a"]);
    expect(await checks(upkeep, 1)).toEqual(["b"]);
    // Both forgotten and idle since: nothing to forget, whatever the memory.
    expect(await checks(upkeep, 2 * Q)).toEqual(Array(2 * Q).fill(undefined));
    // Active at the next check, idle for QUIET_CHECKS after it.
    a.requests++;
    expect(await checks(upkeep, Q + 1)).toEqual([...Array(Q).fill(undefined), "a"]);
    // Below the target nothing is forgotten.
    anon = 100;
    b.requests++;
    expect(await checks(upkeep, 2 * Q)).toEqual(Array(2 * Q).fill(undefined));
    expect([a.forgotten, b.forgotten]).toEqual([2, 1]);
  });

  it("leaves a mount alone while it serves requests", async () => {
    const busy = fake("busy");
    const upkeep = new NamesUpkeep(
      1,
      () => [busy] as unknown as PackageMount[],
      () => 2,
    );
    for (let i = 0; i < 20; i++) {
      busy.requests++;
      expect(await upkeep.check()).toBeUndefined();
    }
    expect(await checks(upkeep, Q)).toEqual([...Array(Q - 1).fill(undefined), "busy"]);
  });

  it("reads the process's anonymous memory", () => {
    expect(anonRss()).toBeGreaterThan(1 << 20);
  });

  it("takes QUILT_NAMES_MEMORY as a size, 192M by default, and refuses anything else", () => {
    expect(namesMemoryBytes({})).toBe(192 * 2 ** 20);
    expect(namesMemoryBytes({ QUILT_NAMES_MEMORY: "1G" })).toBe(2 ** 30);
    expect(() => namesMemoryBytes({ QUILT_NAMES_MEMORY: "small" })).toThrow(
      expect.objectContaining({
        code: "EUSAGE",
        message: 'Invalid daemon memory target QUILT_NAMES_MEMORY="small"',
      }) as Error,
    );
  });
});
