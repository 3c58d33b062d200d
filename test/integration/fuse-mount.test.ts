// A real FUSE mount of a package (served by a child process over a MemoryEntryReader), read
// with plain fs calls and Python: listings, attributes, bytes, xattrs, read-only refusals and
// errno mapping of reader failures.
import { createHash, randomInt } from "node:crypto";
import { constants, readdirSync, lstatSync, readFileSync, statfsSync } from "node:fs";
import { open, readFile, writeFile, mkdir, unlink, rename, truncate, chmod, utimes } from "node:fs/promises";
import { constants as osConstants } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InodeTree } from "../../src/fs/inode-tree.js";
import { entryBytes } from "../../src/fs/memory-reader.js";
import { fsManifest, SAMPLE_FILES, type FileSpec } from "../helpers/fs-fixtures.js";
import { FuseServer, fuseUnavailable, run, sleep } from "../helpers/fuse-harness.js";

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`Skipping FUSE mount tests: ${unavailable}`);

const BIG_META = { blob: "m".repeat(5000), label: "needs ERANGE and a retry with a bigger buffer" };
/** Files each test below reads first, so no earlier test has put them in the page cache. */
const EXTRA: FileSpec[] = [
  { key: "random/r.bin", size: 8 * 1024 * 1024 + 3 },
  { key: "concurrent/shared.bin", size: 4 * 1024 * 1024 + 11 },
  { key: "errors/eio.bin", size: 70_000 },
  { key: "errors/estale.bin", size: 70_000 },
  { key: "errors/etimedout.bin", size: 70_000 },
  { key: "meta/big.json", size: 10, meta: BIG_META },
  { key: "cache/hot.bin", size: 1024 * 1024 + 5 },
];
const FILES = [...SAMPLE_FILES, ...EXTRA];
const DIR_META: [string, unknown][] = [["images/", { source: "camera" }]];
const TOP_HASH = "0123456789abcdef".repeat(4);
const TIME = "2024-05-06T07:08:09.000Z";

function sha(b: Buffer): string {
  return createHash("sha256").update(b).digest("hex");
}

function walk(root: string, rel = ""): { files: string[]; dirs: string[] } {
  const out = { files: [] as string[], dirs: [] as string[] };
  for (const d of readdirSync(join(root, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${d.name}` : d.name;
    if (d.isDirectory()) {
      out.dirs.push(p);
      const sub = walk(root, p);
      out.files.push(...sub.files);
      out.dirs.push(...sub.dirs);
    } else out.files.push(p);
  }
  return out;
}

/** The errno name a call failed with (libuv has no name for ESTALE, so the number decides). */
async function errorCode(work: Promise<unknown>): Promise<string | undefined> {
  return work.then(
    () => undefined,
    (e: { code?: string; errno?: number }) => (e.errno === -osConstants.errno.ESTALE ? "ESTALE" : e.code),
  );
}

describe.skipIf(unavailable !== null)("FUSE mount", () => {
  let server: FuseServer;
  let mnt: string;
  const tree = InodeTree.build(fsManifest(FILES, { dirMeta: DIR_META }));

  beforeAll(async () => {
    server = await FuseServer.start({
      files: FILES,
      dirMeta: DIR_META,
      userMeta: { owner: "ml-team" },
      topHash: TOP_HASH,
      time: TIME,
      delayMs: 2,
    });
    mnt = server.mountpoint;
  });
  afterAll(async () => {
    await server?.close();
  });

  it("appears in the mount table as a read-only fuse.quilt mount", () => {
    const line = readFileSync("/proc/mounts", "utf8")
      .split("\n")
      .find((l) => l.split(" ")[1] === mnt);
    expect(line).toBeDefined();
    const [source, , type, options] = (line as string).split(" ");
    expect(source).toBe("quilt:test/pkg");
    expect(type).toBe("fuse.quilt");
    expect((options as string).split(",")).toContain("ro");
  });

  it("lists every file and directory of the manifest, with its attributes and stable inode", () => {
    const { files, dirs } = walk(mnt);
    expect(files.sort()).toEqual(FILES.map((f) => f.key).sort());
    const expectedDirs = new Set(
      FILES.flatMap((f) =>
        f.key
          .split("/")
          .slice(0, -1)
          .map((_, i, p) => p.slice(0, i + 1).join("/")),
      ),
    );
    expect(dirs.sort()).toEqual([...expectedDirs].sort());
    for (const f of FILES) {
      const st = lstatSync(join(mnt, f.key));
      expect(st.isFile(), f.key).toBe(true);
      expect(st.mode & 0o7777).toBe(0o444);
      expect(st.size).toBe(f.size);
      expect(st.uid).toBe(process.getuid?.());
      expect(st.mtime.toISOString()).toBe(TIME);
      expect(st.ino).toBe(tree.resolve(f.key));
    }
    for (const d of expectedDirs) {
      const st = lstatSync(join(mnt, d));
      expect(st.isDirectory(), d).toBe(true);
      expect(st.mode & 0o7777).toBe(0o555);
      expect(st.ino).toBe(tree.resolve(d));
    }
    expect(lstatSync(mnt).ino).toBe(1);
    expect(() => lstatSync(join(mnt, "no-such-file"))).toThrow(expect.objectContaining({ code: "ENOENT" }));
    expect(() => lstatSync(join(mnt, "README.md", "x"))).toThrow(
      expect.objectContaining({ code: "ENOTDIR" }),
    );
  });

  it("reads every file byte for byte", async () => {
    for (const f of SAMPLE_FILES) {
      const got = await readFile(join(mnt, f.key));
      expect(got.length, f.key).toBe(f.size);
      expect(sha(got), f.key).toBe(sha(entryBytes(f.key, 0, f.size)));
    }
  });

  it("answers random-offset reads on one file handle, across the end of the file too", async () => {
    const f = EXTRA[0] as FileSpec;
    const fh = await open(join(mnt, f.key), "r");
    try {
      for (let i = 0; i < 300; i++) {
        const length = randomInt(1, 300_000);
        const offset = i % 10 === 0 ? f.size - randomInt(1, 1000) : randomInt(0, f.size);
        const buf = Buffer.alloc(length);
        const { bytesRead } = await fh.read(buf, 0, length, offset);
        const want = Math.min(length, f.size - offset);
        expect(bytesRead, `read ${length} at ${offset}`).toBe(want);
        expect(buf.subarray(0, bytesRead).equals(entryBytes(f.key, offset, want)), `bytes at ${offset}`).toBe(
          true,
        );
      }
      expect((await fh.read(Buffer.alloc(10), 0, 10, f.size)).bytesRead).toBe(0);
    } finally {
      await fh.close();
    }
  });

  it("serves concurrent readers of one file, each through its own handle", async () => {
    const f = EXTRA[1] as FileSpec;
    const readers = 8;
    const chunk = 64 * 1024;
    const results = await Promise.all(
      Array.from({ length: readers }, async (_, r) => {
        const fh = await open(join(mnt, f.key), "r");
        try {
          const out = Buffer.alloc(f.size);
          // Each reader starts at a different place and wraps around, so reads interleave.
          const chunks = Math.ceil(f.size / chunk);
          for (let k = 0; k < chunks; k++) {
            const offset = ((k + Math.floor((r * chunks) / readers)) % chunks) * chunk;
            await fh.read(out, offset, Math.min(chunk, f.size - offset), offset);
          }
          return sha(out);
        } finally {
          await fh.close();
        }
      }),
    );
    expect(new Set(results)).toEqual(new Set([sha(entryBytes(f.key, 0, f.size))]));
    // Every open was released back to the reader (release is asynchronous after close).
    for (let i = 0; i < 50 && (await server.stats()).liveHandles > 0; i++) await sleep(100);
    const stats = await server.stats();
    expect(stats.liveHandles).toBe(0);
    expect(stats.openFiles).toBe(0);
  });

  it("keeps the page cache across opens: a re-read does not reach the reader", async () => {
    const f = EXTRA[6] as FileSpec;
    const before = await server.stats();
    expect((await readFile(join(mnt, f.key))).equals(entryBytes(f.key, 0, f.size))).toBe(true);
    const afterFirst = await server.stats();
    expect(afterFirst.reads).toBeGreaterThan(before.reads);
    expect((await readFile(join(mnt, f.key))).equals(entryBytes(f.key, 0, f.size))).toBe(true);
    const afterSecond = await server.stats();
    expect(afterSecond.opens).toBe(afterFirst.opens + 1);
    expect(afterSecond.reads).toBe(afterFirst.reads);
  });

  it("refuses every kind of write with EROFS", async () => {
    const file = join(mnt, "README.md");
    expect(await errorCode(writeFile(join(mnt, "new.txt"), "x"))).toBe("EROFS");
    expect(await errorCode(open(file, "r+"))).toBe("EROFS");
    expect(await errorCode(open(file, constants.O_WRONLY))).toBe("EROFS");
    expect(await errorCode(writeFile(file, "x"))).toBe("EROFS");
    expect(await errorCode(mkdir(join(mnt, "newdir")))).toBe("EROFS");
    expect(await errorCode(unlink(file))).toBe("EROFS");
    expect(await errorCode(rename(file, join(mnt, "moved.md")))).toBe("EROFS");
    expect(await errorCode(truncate(file, 0))).toBe("EROFS");
    expect(await errorCode(chmod(file, 0o644))).toBe("EROFS");
    expect(await errorCode(utimes(file, new Date(), new Date()))).toBe("EROFS");
    const py = await run("python3", [
      "-c",
      "import os,sys\ntry:\n os.setxattr(sys.argv[1], 'user.x', b'1')\nexcept OSError as e:\n print(e.errno)",
      file,
    ]);
    expect(Number(py.stdout.trim())).toBe(osConstants.errno.EROFS);
    expect((await readFile(file)).length).toBe(1234);
  });

  it("exposes metadata as extended attributes that Python reads", async () => {
    const script = `
import json, os, sys
mnt = sys.argv[1]
out = {}
for rel in ["images/train/0001.jpg", "meta/big.json", "images", "", "data"]:
    p = os.path.join(mnt, rel)
    out[rel] = {"names": sorted(os.listxattr(p)), "values": {n: os.getxattr(p, n).decode("utf-8") for n in os.listxattr(p)}}
try:
    os.getxattr(os.path.join(mnt, "README.md"), "user.nope")
except OSError as e:
    out["missing_errno"] = e.errno
for name in ["security.selinux", "system.posix_acl_access", "trusted.x"]:
    try:
        os.getxattr(os.path.join(mnt, "README.md"), name)
    except OSError as e:
        out.setdefault("unsupported_errnos", []).append(e.errno)
print(json.dumps(out))
`;
    const py = await run("python3", ["-c", script, mnt]);
    expect(py.stderr).toBe("");
    const out = JSON.parse(py.stdout);
    const img = out["images/train/0001.jpg"];
    expect(img.names).toEqual(["user.quilt.hash", "user.quilt.meta", "user.quilt.physical_key"]);
    expect(JSON.parse(img.values["user.quilt.meta"])).toEqual({
      annotations: [{ bbox: [1, 2, 3, 4], label: "cat" }],
    });
    expect(JSON.parse(img.values["user.quilt.hash"])).toMatchObject({ type: "SHA256" });
    expect(img.values["user.quilt.physical_key"]).toMatch(
      /^s3:\/\/test-bucket\/data\/images\/train\/0001\.jpg\?versionId=v\d+$/,
    );
    expect(JSON.parse(out["meta/big.json"].values["user.quilt.meta"])).toEqual(BIG_META);
    expect(JSON.parse(out["images"].values["user.quilt.meta"])).toEqual({ source: "camera" });
    expect(out[""].values["user.quilt.top_hash"]).toBe(TOP_HASH);
    expect(JSON.parse(out[""].values["user.quilt.meta"])).toEqual({ owner: "ml-team" });
    expect(out["data"].names).toEqual([]);
    expect(out.missing_errno).toBe(61); // ENODATA
    // No such namespace here: EOPNOTSUPP, which tells ls -l to stop asking (see xattrs.ts).
    expect(out.unsupported_errnos).toEqual([95, 95, 95]);
  });

  it("reports statfs for df", () => {
    const s = statfsSync(mnt);
    const total = FILES.reduce((n, f) => n + f.size, 0);
    expect(s.blocks * s.bsize).toBeGreaterThanOrEqual(total);
    expect(s.bfree).toBe(0);
    expect(s.files).toBe(tree.nodeCount);
  });

  const failures: [string, "ESTORAGE" | "ESTALE" | "TIMEOUT", string][] = [
    ["errors/eio.bin", "ESTORAGE", "EIO"],
    ["errors/estale.bin", "ESTALE", "ESTALE"],
    ["errors/etimedout.bin", "TIMEOUT", "ETIMEDOUT"],
  ];
  for (const [key, injected, errno] of failures) {
    it(`answers ${errno} while the reader fails with ${injected}, and reads work once it recovers`, async () => {
      // The kernel retries a failed readahead page by page, so one failure alone can be
      // hidden from the program: keep failing until the error has surfaced.
      await server.request({ op: "failNextRead", key, code: injected, times: 10 });
      expect(await errorCode(readFile(join(mnt, key)))).toBe(errno);
      await server.request({ op: "clearFailures" });
      const again = await readFile(join(mnt, key));
      expect(again.equals(entryBytes(key, 0, 70_000))).toBe(true);
    });
  }
});
