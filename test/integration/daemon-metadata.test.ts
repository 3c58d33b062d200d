// Metadata operations over a 10,000-entry mount make zero S3 requests: `find` (which
// stats every entry), a stat of every file from Node, readdir of every directory, opening
// files and reading their xattrs all come from the manifest. The daemon's own request
// counters say so, and reading a file afterwards moves them (so the check can fail).
// Pushing 10,000 objects to moto is slow and the walk must not read them anyway: the
// manifest is built directly, 10,000 entries whose objects do not exist next to a few
// real ones, and only the manifest is pushed. Also: `quilt verify` of a mount whose
// objects are all gone answers with a bounded list (a reply is one socket frame).
import { open, readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromPlain, type JsonObject, type JsonValue } from "../../src/manifest/json-value.js";
import { parseLogicalKey } from "../../src/manifest/logical-key.js";
import { Manifest, type ManifestEntry } from "../../src/manifest/manifest.js";
import { PhysicalKey } from "../../src/manifest/physical-key.js";
import { parseRegistryUrl } from "../../src/manifest/registry-url.js";
import { DaemonSandbox, type DaemonStats } from "../helpers/daemon-harness.js";
import {
  libraryContext,
  publishFiles,
  pseudoRandomBytes,
  pythonBin,
  runCommand,
} from "../helpers/daemon-fixtures.js";
import { fuseUnavailable } from "../helpers/fuse-harness.js";
import { s3TestEnv, uniquePrefix } from "../helpers/s3.js";

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`Skipping daemon metadata tests: ${unavailable}`);

const s3 = s3TestEnv();
const registry = `s3://${s3.bucket}`;
const salt = uniquePrefix("dmmeta");
const name = `${salt}/tenk`;
const FAKE_ENTRIES = 10_000;
const GONE_ENTRIES = 6_000;
const REAL: Record<string, Buffer> = {
  "real/a.txt": Buffer.from(`real file ${salt}\n`),
  "real/b.bin": pseudoRandomBytes(50_000, `${salt}-b`),
};

function fakeEntry(i: number): ManifestEntry {
  const key = `shards/d${String(Math.floor(i / 100)).padStart(3, "0")}/sample-${String(i).padStart(5, "0")}.jpg`;
  return {
    logicalKey: parseLogicalKey(key),
    // Objects that were never uploaded: any read of them would fail, a HEAD would 404.
    physicalKey: PhysicalKey.s3(s3.bucket, `${salt}-missing/${key}`, `version-${i}`),
    size: 1000 + (i % 997),
    hash: new Map<string, JsonValue>([
      ["type", "SHA256"],
      ["value", i.toString(16).padStart(64, "a")],
    ]),
    meta: new Map<string, JsonValue>([["user_meta", fromPlain({ index: i, label: `class-${i % 10}` })]]),
  };
}

function walkCounts(s: DaemonStats): { get: number; head: number; list: number; misses: number } {
  return {
    get: s.requests.s3.get,
    head: s.requests.s3.head,
    list: s.requests.s3.list,
    misses: s.cache.misses,
  };
}

describe.skipIf(unavailable !== null)("daemon: metadata over a 10,000-entry mount", () => {
  let box: DaemonSandbox;
  let mnt = "";
  let manifest: Manifest;

  beforeAll(async () => {
    const real = await publishFiles(s3.endpoint, registry, `${salt}/real`, REAL, { prefix: `${salt}-data/` });
    const entries = [
      ...real.manifest.entries,
      ...Array.from({ length: FAKE_ENTRIES }, (_, i) => fakeEntry(i)),
    ];
    manifest = Manifest.create({
      header: new Map<string, JsonValue>([["version", "v0"]]) as JsonObject,
      entries,
    });
    const lib = await libraryContext(s3.endpoint);
    try {
      await lib.ctx.registry(parseRegistryUrl(registry)).pushManifest(name, manifest, { tag: "v1" });
    } finally {
      await lib.close();
    }
    box = await DaemonSandbox.create("meta", { endpoint: s3.endpoint });
    mnt = await box.mountDir();
    await box.mount(`${name}:v1`, mnt, registry);
  });

  afterAll(async () => {
    await box?.cleanup();
  });

  it("walks, stats, lists and opens every entry without one S3 request", async () => {
    const before = walkCounts(await box.stats());

    // find stats every entry (-printf %s needs the size).
    const found = (await runCommand("find", [mnt, "-printf", "%y %m %s %P\n"])).trim().split("\n");
    const files = found.filter((l) => l.startsWith("f "));
    expect(files).toHaveLength(FAKE_ENTRIES + Object.keys(REAL).length);
    const bySize = new Map(files.map((l) => [l.split(" ").slice(3).join(" "), l.split(" ")]));
    for (const e of manifest.entries) {
      const row = bySize.get(e.logicalKey);
      expect(row, e.logicalKey).toBeDefined();
      expect(row?.[1]).toBe("444");
      expect(Number(row?.[2])).toBe(e.size);
    }
    for (const l of found.filter((x) => x.startsWith("d "))) expect(l.split(" ")[1]).toBe("555");

    // Node: readdir of every directory, stat of every entry.
    let statted = 0;
    const visit = async (dir: string): Promise<void> => {
      const names = await readdir(dir);
      await Promise.all(
        names.map(async (n) => {
          const st = await stat(join(dir, n));
          statted++;
          if (st.isDirectory()) await visit(join(dir, n));
        }),
      );
    };
    await visit(mnt);
    expect(statted).toBeGreaterThan(FAKE_ENTRIES);

    // Opening a file and reading its metadata attributes is no read either.
    const sample = [0, 4321, FAKE_ENTRIES - 1];
    for (const i of sample) await (await open(join(mnt, fakeEntry(i).logicalKey), "r")).close();
    const metas = await runCommand(pythonBin(), [
      "-c",
      "import json, os, sys\nprint(json.dumps([json.loads(os.getxattr(p, 'user.quilt.meta')) for p in sys.argv[1:]]))",
      ...sample.map((i) => join(mnt, fakeEntry(i).logicalKey)),
    ]);
    expect((JSON.parse(metas) as { index: number }[]).map((m) => m.index)).toEqual(sample);

    const after = walkCounts(await box.stats());
    expect(after).toEqual(before);

    // The counters do move when a file is read.
    expect((await readFile(join(mnt, "real/b.bin"))).equals(REAL["real/b.bin"] as Buffer)).toBe(true);
    const read = walkCounts(await box.stats());
    expect(read.get).toBeGreaterThan(after.get);
  });

  it("verify of a mount whose objects are all gone answers in one bounded reply", async () => {
    // A local registry, so 6,000 existence checks are stats, not HEADs to moto. Uncapped, the
    // 6,000 failures would not fit in one socket frame (1 MiB).
    const regDir = join(box.root, "local-registry");
    const entries = Array.from({ length: GONE_ENTRIES }, (_, i) => ({
      ...fakeEntry(i),
      physicalKey: PhysicalKey.local(
        join(regDir, "gone", "a-rather-long-directory-name-for-every-object", `object-${i}.jpg`),
      ),
    }));
    const lib = await libraryContext(s3.endpoint);
    try {
      await lib.ctx
        .registry(parseRegistryUrl(regDir))
        .pushManifest(
          `${salt}/gone`,
          Manifest.create({ header: new Map<string, JsonValue>([["version", "v0"]]) as JsonObject, entries }),
          { tag: "v1" },
        );
    } finally {
      await lib.close();
    }
    const gone = await box.mountDir("gone");
    await box.mount(`${salt}/gone:v1`, gone, regDir);
    const r = await box.cli(["verify", gone, "--json"]);
    expect(r.code, r.stderr).toBe(1);
    const json = JSON.parse(r.stdout) as {
      ok: boolean;
      checked: number;
      failed: { key: string; reason: string }[];
      failedOmitted: number;
    };
    expect(json).toMatchObject({ ok: false, checked: GONE_ENTRIES });
    expect(json.failed.length).toBeGreaterThan(0);
    expect(json.failed.length + json.failedOmitted).toBe(GONE_ENTRIES);
    expect(json.failed[0]?.reason).toMatch(/gone/);
    const human = await box.cli(["verify", gone]);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain(`... and ${json.failedOmitted} more files do not match`);
  });
});
