// `quilt switch`: a mount moves from v1 to v2 of a package in one step and back with
// --previous. v2 changes one file at the same size, grows another (nested, so the kernel's
// cached dentry and size of a path below the root must go too), removes one, adds two (one in a directory the kernel has cached) and
// keeps one unchanged. The kernel has cached v1's attributes and pages before each switch
// (everything was read), so a kernel cache that outlived the switch would show. A reader
// holding a file open across the switch finishes with v1's bytes; the unchanged file is not
// fetched again (it is under another data prefix in v2: the cache is keyed by content); a
// switch to an unknown tag fails with exit 4 and leaves the mount as it was; a daemon
// killed with -9 comes back with the version switched to, and its previous one.
import { open, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DaemonSandbox, waitFor } from "../helpers/daemon-harness.js";
import {
  errnoOf,
  mountDifferences,
  publishFiles,
  pseudoRandomBytes,
  sha256Hex,
} from "../helpers/daemon-fixtures.js";
import { startFaultProxy, type FaultProxy } from "../helpers/daemon-proxy.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`Skipping switch tests: ${unavailable}`);

const s3 = s3TestEnv();
const registry = `s3://${s3.bucket}`;
const salt = uniquePrefix("dmswitch");
const name = `${salt}/switch`;
const HELD = "held/model.bin";
const shared = pseudoRandomBytes(300_000, `${salt}-shared`);
const V1: Record<string, Buffer> = {
  "shared.bin": shared,
  "same-size.bin": pseudoRandomBytes(200_000, `${salt}-same-1`),
  "nested/dir/grows.bin": pseudoRandomBytes(100_000, `${salt}-grows-1`),
  "removed.txt": Buffer.from("only in v1\n"),
  [HELD]: pseudoRandomBytes(1_000_000, `${salt}-held-1`),
};
const V2: Record<string, Buffer> = {
  "shared.bin": shared,
  "same-size.bin": pseudoRandomBytes(200_000, `${salt}-same-2`),
  "nested/dir/grows.bin": pseudoRandomBytes(150_001, `${salt}-grows-2`),
  "added.txt": Buffer.from("only in v2\n"),
  "nested/dir/added.bin": pseudoRandomBytes(5_000, `${salt}-added`),
  [HELD]: pseudoRandomBytes(600_000, `${salt}-held-2`),
};

interface Listed {
  mountpoint: string;
  package: string;
  tag: string | null;
  topHash: string;
  state: string;
  previous: { package: string; name: string; tag?: string; topHash: string } | null;
  manifestBytes: number | null;
}

describe.skipIf(unavailable !== null)("quilt switch", () => {
  let proxy: FaultProxy;
  let box: DaemonSandbox;
  let mnt = "";
  /** v1 mounted too, in the same daemon: the switch of the other mount must not disturb it. */
  let other = "";
  let v1 = "";
  let v2 = "";

  const listed = async (at = mnt): Promise<Listed> => {
    const all = JSON.parse((await box.ok(["mounts", "--json"])).stdout) as Listed[];
    const found = all.find((m) => m.mountpoint === at);
    expect(found, `${at} in quilt mounts`).toBeDefined();
    return found as Listed;
  };
  /** Sizes as stat(2) reports them, for every key of `files`. */
  const sizes = async (files: Record<string, Buffer>) =>
    Object.fromEntries(
      await Promise.all(Object.keys(files).map(async (k) => [k, (await stat(join(mnt, k))).size])),
    );
  const wantSizes = (files: Record<string, Buffer>) =>
    Object.fromEntries(Object.entries(files).map(([k, b]) => [k, b.length]));

  beforeAll(async () => {
    v1 = (await publishFiles(s3.endpoint, registry, name, V1, { prefix: `${salt}-v1/`, tag: "v1" })).topHash;
    v2 = (await publishFiles(s3.endpoint, registry, name, V2, { prefix: `${salt}-v2/`, tag: "v2" })).topHash;
    proxy = await startFaultProxy(s3.endpoint);
    box = await DaemonSandbox.create("switch", { endpoint: proxy.endpoint });
    mnt = await box.mountDir();
    await box.mount(`${name}:v1`, mnt, registry);
    other = await box.mountDir("other");
    await box.mount(`${name}:v1`, other, registry);
  });

  afterAll(async () => {
    await box?.cleanup();
    await proxy?.close();
  });

  it("refuses a switch to a tag that does not exist with exit 4, and keeps serving v1", async () => {
    expect(await mountDifferences(mnt, V1)).toEqual([]);
    const r = await box.cli(["switch", mnt, "no-such-tag"]);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain(`Error: Unknown tag "no-such-tag" for package ${name}`);
    expect(r.stderr).toContain("hint: known tags:");
    // A mount of another version on a mount point points at the switch.
    const busy = await box.cli(["mount", `${name}:v2`, mnt, "--registry", registry]);
    expect(busy.code).toBe(7);
    expect(busy.stderr).toContain(`; or switch it to that version in place: quilt switch ${mnt} ${name}:v2`);
    expect(await mountDifferences(mnt, V1)).toEqual([]);
    expect(await listed()).toMatchObject({ package: `${name}:v1`, topHash: v1, previous: null });
  });

  it("moves to v2 in one step: an open file keeps v1's bytes, every new open and listing sees v2, shared bytes are not fetched again", async () => {
    // The kernel caches v1: every attribute, every page, the absence of v2's new files
    // (negative dentries), and the held file half read.
    expect(await sizes(V1)).toEqual(wantSizes(V1));
    for (const added of ["added.txt", "nested/dir/added.bin"])
      expect(await errnoOf(stat(join(mnt, added)))).toBe("ENOENT");
    expect(await mountDifferences(mnt, V1)).toEqual([]);
    const held = await open(join(mnt, HELD), "r");
    try {
      const first = Buffer.alloc(400_000);
      expect((await held.read(first, 0, first.length, 0)).bytesRead).toBe(first.length);
      const sharedGets = proxy.gets("shared.bin").length;

      const r = await box.ok(["switch", mnt, "v2"]);
      expect(r.stdout).toContain(
        `Switched ${mnt} to ${name}:v2 (${v2.slice(0, 9)}); was ${name}:v1 (${v1.slice(0, 9)})`,
      );
      expect(r.stdout).toContain("1 file was open before the switch: it reads the old version until closed");

      // The held file: the rest of v1, to v1's end, although v2's file at that path is shorter.
      const rest = Buffer.alloc(1_000_000);
      let got = 0;
      for (let n = -1; n !== 0; got += n)
        n = (await held.read(rest, got, rest.length - got, first.length + got)).bytesRead;
      expect(got).toBe(600_000);
      expect(sha256Hex(Buffer.concat([first, rest.subarray(0, got)]))).toBe(sha256Hex(V1[HELD] as Buffer));
      // New opens and listings: v2 only, sizes included (v1's were cached for an hour).
      const stillOpenDiff = await mountDifferences(mnt, V2, [HELD]);
      expect(stillOpenDiff).toEqual([]);
      expect(await sizes(V2).then((s) => ({ ...s, [HELD]: 600_000 }))).toEqual(wantSizes(V2));
      expect(proxy.gets("shared.bin").length).toBe(sharedGets);
    } finally {
      await held.close();
    }
    // Closed: its path shows v2's size too, before anything reads it, once the daemon has the
    // kernel's release of the file (it comes after close returns) and invalidates the path again.
    await waitFor(
      async () => JSON.stringify(await sizes(V2)) === JSON.stringify(wantSizes(V2)),
      10_000,
      "the closed file's path to show v2's size",
    ).catch(() => undefined);
    expect(await sizes(V2)).toEqual(wantSizes(V2));
    expect(await mountDifferences(mnt, V2)).toEqual([]);
    expect(await mountDifferences(other, V1)).toEqual([]);
    const now = await listed(mnt);
    expect(now).toMatchObject({
      package: `${name}:v2`,
      tag: "v2",
      topHash: v2,
      state: "mounted",
      previous: { package: `${name}:v1`, tag: "v1", topHash: v1 },
    });
    const text = await box.ok(["mounts"]);
    expect(text.stdout).toContain(`${mnt}  ${name}:v2  ${v2.slice(0, 9)}`);
    expect(await listed(other)).toMatchObject({ package: `${name}:v1`, topHash: v1, previous: null });
    const previousLine = `previous: ${name}:v1 (${v1.slice(0, 9)}); \`quilt switch ${mnt} --previous\` returns to it`;
    expect(text.stdout).toContain(previousLine);
    // `quilt status MOUNT` names the same way back, in text and JSON.
    expect((await box.ok(["status", mnt])).stdout).toContain(previousLine);
    const status = JSON.parse((await box.ok(["status", mnt, "--json"])).stdout) as { previous: unknown };
    expect(status.previous).toMatchObject({ package: `${name}:v1`, topHash: v1 });
    expect((await box.ok(["status", other])).stdout).not.toContain("previous:");
  });

  it("comes back with the switched version after kill -9, and --previous returns to v1", async () => {
    await box.kill9();
    await box.ok(["daemon", "start"]);
    expect(await listed()).toMatchObject({ package: `${name}:v2`, topHash: v2, previous: { topHash: v1 } });
    expect(await mountDifferences(mnt, V2)).toEqual([]);
    // The record kept v2's manifest size and time, not v1's (the other mount serves v1).
    const v1Bytes = (await listed(other)).manifestBytes;
    expect((await listed()).manifestBytes).not.toBe(v1Bytes);

    const back = await box.ok(["switch", mnt, "--previous"]);
    expect(back.stdout).toContain(`Switched ${mnt} to ${name}:v1 (${v1.slice(0, 9)})`);
    expect(await sizes(V1)).toEqual(wantSizes(V1));
    expect(await mountDifferences(mnt, V1)).toEqual([]);
    expect(await listed()).toMatchObject({
      package: `${name}:v1`,
      topHash: v1,
      previous: { package: `${name}:v2`, topHash: v2 },
    });
    expect((await listed()).manifestBytes).toBe(v1Bytes);
    // A second --previous goes forward again; switching to what is served changes nothing.
    await box.ok(["switch", mnt, "--previous"]);
    expect(await mountDifferences(mnt, V2)).toEqual([]);
    const same = await box.ok(["switch", mnt, `@${v2.slice(0, 12)}`]);
    expect(same.stdout).toContain(`already serves`);
  });

  it("never shows an empty or mixed listing while it switches back and forth", async () => {
    const top = (files: Record<string, Buffer>) =>
      [...new Set(Object.keys(files).map((k) => k.split("/")[0] as string))].sort().join(",");
    const allowed = new Set([top(V1), top(V2)]);
    const seen = new Map<string, number>();
    let switching = true;
    const watcher = (async () => {
      while (switching) {
        const names = (await readdir(mnt)).sort().join(",");
        seen.set(names, (seen.get(names) ?? 0) + 1);
      }
    })();
    for (let i = 0; i < 6; i++) await box.ok(["switch", mnt, i % 2 === 0 ? "v1" : "v2"]);
    switching = false;
    await watcher;
    expect([...seen.keys()].filter((names) => !allowed.has(names))).toEqual([]);
    expect([...seen.keys()].sort(), "the watcher saw both versions").toEqual([...allowed].sort());
    expect(await mountDifferences(mnt, V2)).toEqual([]);
  });
});
