// A cold `ls -l` of a directory of thousands of names, on a real mount: the daemon answers
// the listing with every entry's attributes (READDIRPLUS, libfuse 3 with our patch of the
// binding), so the kernel does not look each name up again: `getattrs` in `quilt mounts
// --json` (one per lookup) stays a handful, where on libfuse 2 it was one per name. What ls
// shows (sizes, inode numbers) is what a stat of each file says; after a switch to another
// version, the next `ls -l` shows its listing.
import { execFile } from "node:child_process";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bigEntrySize, pushBigPackage, type BigPackage } from "../helpers/big-manifest.js";
import { DaemonSandbox } from "../helpers/daemon-harness.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`Skipping READDIRPLUS tests: ${unavailable}`);

const NAME = "plus/pkg";
/** Enough names for several READDIRPLUS requests (and pages) even where the kernel takes 128 KiB at a time. */
const PKG: BigPackage = { files: 4000, perDir: 1000, flat: 3000, seed: "plus" };
/** The next version: fewer names in the same directory (a kept listing of v1 would show 3,000). */
const NEXT: BigPackage = { files: 2600, perDir: 300, flat: 2500, seed: "next" };
/** Lookups a cold `ls -l` of flat/ may still cost: the path down to it, not one per name. */
const FEW = 20;

/** `ls -li` of a directory: name -> [inode, size]. */
async function lsLong(dir: string): Promise<Map<string, [number, number]>> {
  const { stdout } = await promisify(execFile)("ls", ["-li", "--color=never", dir], { maxBuffer: 16 << 20 });
  const rows = stdout.split("\n").filter((l) => l !== "" && !l.startsWith("total"));
  return new Map(
    rows.map((l) => {
      const f = l.trim().split(/\s+/);
      return [f[f.length - 1] as string, [Number(f[0]), Number(f[5])]];
    }),
  );
}

describe.skipIf(unavailable !== null)("a cold ls -l through READDIRPLUS", () => {
  let box: DaemonSandbox;
  let mnt = "";

  const counts = async (): Promise<{ getattrs: number; readdirs: number }> => {
    const [m] = JSON.parse((await box.ok(["mounts", "--json"])).stdout) as {
      getattrs: number;
      readdirs: number;
    }[];
    return m as { getattrs: number; readdirs: number };
  };
  const getattrs = async (): Promise<number> => (await counts()).getattrs;

  beforeAll(async () => {
    box = await DaemonSandbox.create("plus", { endpoint: "http://127.0.0.1:9" });
    const registry = join(box.root, "registry");
    await pushBigPackage(registry, NAME, PKG, "v1");
    await pushBigPackage(registry, NAME, NEXT, "v2");
    mnt = await box.mountDir();
    await box.mount(`${NAME}:v1`, mnt, registry);
  });

  afterAll(async () => {
    await box?.cleanup();
  });

  it("lists 3,000 names with their sizes and inodes without a lookup per name", async () => {
    const before = await getattrs();
    const listed = await lsLong(join(mnt, "flat"));
    const lookups = (await getattrs()) - before;
    expect(listed.size).toBe(PKG.flat);
    expect(lookups).toBeLessThan(FEW);
    for (let i = 0; i < PKG.flat; i++) {
      expect(listed.get(`f${String(i).padStart(7, "0")}.bin`)?.[1], `size of file ${i}`).toBe(
        bigEntrySize(i),
      );
    }
    // The attributes the listing gave are the ones stat gives (the daemon's inode numbers).
    for (const name of ["f0000000.bin", "f0001234.bin", "f0002999.bin"]) {
      const st = await stat(join(mnt, "flat", name));
      expect(listed.get(name), name).toEqual([st.ino, st.size]);
    }
    expect(new Set([...listed.values()].map(([ino]) => ino)).size).toBe(PKG.flat);
  });

  it("lists it again without asking for any name", async () => {
    const before = await getattrs();
    expect((await lsLong(join(mnt, "flat"))).size).toBe(PKG.flat);
    expect((await getattrs()) - before).toBe(0);
  });

  it("lists the new version after a switch, from the daemon", async () => {
    await box.ok(["switch", mnt, "v2"]);
    const before = await counts();
    const listed = await lsLong(join(mnt, "flat"));
    expect((await counts()).readdirs).toBeGreaterThan(before.readdirs);
    expect(listed.size).toBe(NEXT.flat);
    expect(listed.has("f0002999.bin")).toBe(false);
    const st = await stat(join(mnt, "flat", "f0002499.bin"));
    expect(listed.get("f0002499.bin")).toEqual([st.ino, st.size]);
  });
});
