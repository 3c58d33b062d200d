// What a node's monitoring reads from `quilt mounts --json`, per mount: entries, bytes
// cached, the GETs its reads caused and the bytes they brought, a hit ratio, and its
// verification state; and what `quilt mount --json` says about the manifest. A cold read
// costs GETs; a second file with the same bytes (another inode, so the kernel's page cache
// does not answer for it) is served from the block cache: no new GET, and the ratio rises.
import { readFile } from "node:fs/promises";
import { REPO_ROOT } from "../helpers/moto-server.js";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DaemonSandbox } from "../helpers/daemon-harness.js";
import { publishFiles, pseudoRandomBytes } from "../helpers/daemon-fixtures.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`Skipping mount counter tests: ${unavailable}`);

const s3 = s3TestEnv();
const registry = `s3://${s3.bucket}`;
const salt = uniquePrefix("mcount");
const name = `${salt}/counted`;
const SAME = pseudoRandomBytes(300_000, `${salt}-same`);
const FILES: Record<string, Buffer> = {
  "a/first.bin": SAME,
  "b/copy.bin": SAME,
  "c/other.txt": Buffer.from(`other ${salt}\n`),
};

interface Counters {
  mountpoint: string;
  entries: number;
  cachedBytes: number;
  bytesRead: number;
  gets: number;
  fetchedBytes: number;
  hitRatio: number | null;
  verification: string;
  unverifiedCount: number;
  failedCount: number;
  manifestBytes: number | null;
}

describe.skipIf(unavailable !== null)("mount counters in quilt mounts --json", () => {
  let box: DaemonSandbox;
  let mnt = "";

  beforeAll(async () => {
    await publishFiles(s3.endpoint, registry, name, FILES, { prefix: `${salt}-data/` });
    box = await DaemonSandbox.create("counters", { endpoint: s3.endpoint });
    mnt = await box.mountDir();
  });

  afterAll(async () => {
    await box?.cleanup();
  });

  async function counters(): Promise<Counters> {
    const list = JSON.parse((await box.ok(["mounts", "--json"])).stdout) as Counters[];
    expect(list.length).toBe(1);
    return list[0] as Counters;
  }

  it("quilt mount --json gives the manifest's size and how long the mount took", async () => {
    const r = await box.mount(`${name}:v1`, mnt, registry, ["--json"]);
    const info = JSON.parse(r.stdout) as Counters & { seconds: number };
    expect(info.entries).toBe(3);
    expect(info.manifestBytes).toBeGreaterThan(300); // three JSONL entry lines and the header
    expect(info.seconds).toBeGreaterThan(0);
  });

  it("counts GETs on a cold read, none on a warm one, and the hit ratio rises", async () => {
    const before = await counters();
    expect(before).toMatchObject({
      entries: 3,
      bytesRead: 0,
      gets: 0,
      fetchedBytes: 0,
      hitRatio: null,
      verification: "ok",
      unverifiedCount: 0,
      failedCount: 0,
    });
    expect(before.manifestBytes).toBeGreaterThan(300);

    expect((await readFile(join(mnt, "a/first.bin"))).equals(SAME)).toBe(true);
    const cold = await counters();
    expect(cold.gets).toBeGreaterThan(0);
    expect(cold.fetchedBytes).toBeGreaterThanOrEqual(SAME.length);
    expect(cold.bytesRead).toBe(SAME.length);
    expect(cold.cachedBytes).toBeGreaterThanOrEqual(SAME.length);
    expect(cold.verification).toBe("ok");

    expect((await readFile(join(mnt, "b/copy.bin"))).equals(SAME)).toBe(true);
    const warm = await counters();
    expect(warm.gets).toBe(cold.gets);
    expect(warm.fetchedBytes).toBe(cold.fetchedBytes);
    expect(warm.bytesRead).toBe(2 * SAME.length);
    expect(warm.hitRatio as number).toBeGreaterThan(cold.hitRatio as number);
    expect(warm.hitRatio).toBeCloseTo(1 - cold.fetchedBytes / (2 * SAME.length), 6);

    // The human list says the same in a line of its own.
    const human = (await box.ok(["mounts"])).stdout;
    expect(human).toContain(`reads: ${warm.gets} GET`);
    expect(human).toContain(`hit ratio ${Math.round((warm.hitRatio as number) * 100)}%`);
  });

  it("README's monitoring table documents every field of quilt mounts --json, and nothing else", async () => {
    const readme = await readFile(join(REPO_ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("**7. Monitoring.**"));
    const rows = section.split("\n").filter((l) => l.startsWith("| `"));
    const documented = rows.flatMap((r) =>
      [...(r.split("|")[1] as string).matchAll(/`(\w+)`/g)].map((m) => m[1] as string),
    );
    const list = JSON.parse((await box.ok(["mounts", "--json"])).stdout) as Record<string, unknown>[];
    expect([...documented].sort()).toEqual(Object.keys(list[0] as object).sort());
  });
});
