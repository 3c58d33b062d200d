// The names the kernel holds for each mount, and how the daemon makes it forget them, with
// real FUSE mounts in one daemon; `getattrs` in `quilt mounts --json` counts the kernel's
// requests for names it did not hold. (1) A switch's invalidation notices reach the switched
// mount only: another mount with the same root names is not asked again for what it had
// answered (it was, while notices went to every FUSE descriptor of the daemon). (2) Above its
// memory target (QUILT_NAMES_MEMORY, here 1 byte) the daemon makes the kernel forget the
// names of its longest idle mount: a second stat asks the daemon again and bytes are right,
// a file open during a forgetting reads on, and a mount active now is left alone.
import { open, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DaemonSandbox, sleep, waitFor } from "../helpers/daemon-harness.js";
import { mountDifferences, publishFiles, pseudoRandomBytes } from "../helpers/daemon-fixtures.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`Skipping kernel name tests: ${unavailable}`);

const s3 = s3TestEnv();
const registry = `s3://${s3.bucket}`;
const salt = uniquePrefix("knames");
const name = `${salt}/names`;
const BIG = "deep/er/big.bin";
/** Both versions have the same root names (deep, top.txt, wide); v2 changes a file's bytes. */
const V1: Record<string, Buffer> = {
  [BIG]: pseudoRandomBytes(3_000_000, `${salt}-big`),
  "top.txt": Buffer.from(`v1 ${salt}\n`),
  ...Object.fromEntries(
    Array.from({ length: 20 }, (_, i) => [`wide/f${i}.txt`, Buffer.from(`file ${i} ${salt}\n`)]),
  ),
};
const V2: Record<string, Buffer> = { ...V1, "top.txt": Buffer.from(`v2 ${salt} changed\n`) };

interface Listed {
  mountpoint: string;
  getattrs: number;
  forgettings: number;
}

/** stat(2) of every key: each name the kernel does not hold costs the mount a getattr. */
async function statAll(mnt: string, files: Record<string, Buffer>): Promise<void> {
  for (const key of Object.keys(files)) await stat(join(mnt, key));
}

describe.skipIf(unavailable !== null)("the kernel's names per mount", () => {
  let v1 = "";
  const boxes: DaemonSandbox[] = [];

  const listed = async (box: DaemonSandbox, at: string): Promise<Listed> => {
    const all = JSON.parse((await box.ok(["mounts", "--json"])).stdout) as Listed[];
    const found = all.find((m) => m.mountpoint === at);
    expect(found, `${at} in quilt mounts`).toBeDefined();
    return found as Listed;
  };

  beforeAll(async () => {
    v1 = (await publishFiles(s3.endpoint, registry, name, V1, { prefix: `${salt}-v1/`, tag: "v1" })).topHash;
    await publishFiles(s3.endpoint, registry, name, V2, { prefix: `${salt}-v2/`, tag: "v2" });
  });

  afterAll(async () => {
    for (const box of boxes) await box.cleanup();
  });

  it("sends a switch's notices to the switched mount only", async () => {
    const box = await DaemonSandbox.create("names-switch", { endpoint: s3.endpoint });
    boxes.push(box);
    const a = await box.mountDir("a");
    const b = await box.mountDir("b");
    await box.mount(`${name}:v1`, a, registry);
    await box.mount(`${name}@${v1}`, b, registry);
    await statAll(a, V1);
    await statAll(b, V1);
    // Anyone's `echo 2 > /proc/sys/vm/drop_caches` on this machine also makes both mounts
    // asked again: a few switches back and forth, and one of them must leave b untouched.
    const rounds: { a: number; b: number }[] = [];
    for (const [tag, files] of [
      ["v2", V2],
      ["v1", V1],
      ["v2", V2],
    ] as const) {
      const before = { a: await listed(box, a), b: await listed(box, b) };
      await box.ok(["switch", a, tag]);
      await statAll(a, files);
      await statAll(b, V1);
      rounds.push({
        a: (await listed(box, a)).getattrs - before.a.getattrs,
        b: (await listed(box, b)).getattrs - before.b.getattrs,
      });
      if (rounds.at(-1)?.b === 0) break;
    }
    // Asked again for every name after its switch (the root names and what is below them).
    for (const r of rounds) expect(r.a).toBeGreaterThanOrEqual(Object.keys(V1).length);
    // Not asked again: the kernel still holds b's names.
    expect(rounds.map((r) => r.b)).toContain(0);
    expect(await mountDifferences(a, rounds.length === 2 ? V1 : V2)).toEqual([]);
    expect(await mountDifferences(b, V1)).toEqual([]);
    // An unmount refused because a file is open leaves the mount switchable: its kernel is
    // still told to forget, and asks again for every name.
    const held = await open(join(a, "top.txt"), "r");
    try {
      expect((await box.cli(["unmount", a])).code).not.toBe(0);
    } finally {
      await held.close();
    }
    const [tag, files] = rounds.length === 2 ? (["v2", V2] as const) : (["v1", V1] as const);
    const before = (await listed(box, a)).getattrs;
    await box.ok(["switch", a, tag]);
    await statAll(a, files);
    expect((await listed(box, a)).getattrs).toBeGreaterThanOrEqual(before + Object.keys(files).length);
    expect(await mountDifferences(a, files)).toEqual([]);
  });

  describe("above QUILT_NAMES_MEMORY", () => {
    let box: DaemonSandbox;
    let idle = "";
    let busy = "";
    /** Checks every 200 ms, so a mount is idle after 3 s without a request: longer than a `quilt mounts`. */
    const env = { QUILT_NAMES_MEMORY: "1", QUILT_TEST_NAMES_CHECK_MS: "200" };
    const forgotten = async (at: string, than: number) =>
      waitFor(async () => (await listed(box, at)).forgettings > than, 20_000, `a forgetting of ${at}`);

    beforeAll(async () => {
      box = await DaemonSandbox.create("names-memory", { endpoint: s3.endpoint });
      boxes.push(box);
      idle = await box.mountDir("idle");
      busy = await box.mountDir("busy");
      await box.ok(["mount", `${name}:v1`, idle, "--registry", registry], env);
      await box.ok(["mount", `${name}:v2`, busy, "--registry", registry], env);
    });

    it("makes the kernel ask again for the names of an idle mount, and reads stay right", async () => {
      await statAll(idle, V1);
      const walked = await listed(box, idle);
      await statAll(idle, V1);
      expect((await listed(box, idle)).getattrs, "held by the kernel before").toBe(walked.getattrs);
      // Counted after the walk and within the idle time: the forgetting waited for comes after it.
      await forgotten(idle, walked.forgettings);
      await statAll(idle, V1);
      expect((await listed(box, idle)).getattrs).toBeGreaterThanOrEqual(
        walked.getattrs + Object.keys(V1).length,
      );
      expect(await mountDifferences(idle, V1)).toEqual([]);
      expect(await box.logTail(200)).toContain(
        "asked the kernel to forget the names of the longest idle mount",
      );
      // `quilt daemon status` shows the bound, the memory it watches and the forgettings.
      const status = JSON.parse((await box.ok(["daemon", "status", "--json"], env)).stdout) as {
        names: { targetBytes: number; anonBytes: number | null; forgettings: number };
      };
      expect(status.names.targetBytes).toBe(1);
      expect(status.names.anonBytes).toBeGreaterThan(1);
      expect(status.names.forgettings).toBeGreaterThanOrEqual(1);
      expect((await box.ok(["daemon", "status"], env)).stdout).toMatch(
        /^Memory: .+ anonymous; above 1 B \(\$QUILT_NAMES_MEMORY\) the kernel is told to forget idle mounts' names, [1-9]\d* time\(s\) so far$/m,
      );
    });

    it("keeps an open file reading while its mount's names are forgotten", async () => {
      const fh = await open(join(idle, BIG), "r");
      try {
        const half = V1[BIG]!.length / 2;
        const first = Buffer.alloc(half);
        await fh.read(first, 0, half, 0);
        const was = (await listed(box, idle)).forgettings;
        await statAll(idle, V1); // names to forget again, after `was` was counted
        await forgotten(idle, was);
        const second = Buffer.alloc(half);
        await fh.read(second, 0, half, half);
        expect(Buffer.concat([first, second]).equals(V1[BIG]!)).toBe(true);
      } finally {
        await fh.close();
      }
    });

    it("leaves a mount alone while it serves requests", async () => {
      await statAll(busy, V2);
      let stop = false;
      // A listing is not cached by the kernel: each one reaches the daemon.
      const keepBusy = (async () => {
        while (!stop) {
          await readdir(join(busy, "wide"));
          await sleep(20);
        }
      })();
      try {
        const was = await listed(box, busy);
        const idleWas = (await listed(box, idle)).forgettings;
        await statAll(idle, V1); // the idle mount has names to forget again
        await forgotten(idle, idleWas);
        // Forgotten, used and idle again, forgotten again: many checks passed over the busy mount.
        await statAll(idle, V1);
        await forgotten(idle, idleWas + 1);
        expect((await listed(box, busy)).forgettings).toBe(was.forgettings);
      } finally {
        stop = true;
        await keepBusy;
      }
      // Idle now: its turn comes.
      const busyWas = (await listed(box, busy)).forgettings;
      await forgotten(busy, busyWas);
    });
  });
});
