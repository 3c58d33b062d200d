import { constants } from "node:fs";
import { describe, expect, it } from "vitest";
import { QuiltError, type ErrorCode } from "../../src/errors.js";
import type { EntryReader } from "../../src/fs/entry-reader.js";
import { QuiltFilesystem, type FilesystemOptions } from "../../src/fs/filesystem.js";
import { MUTATING_OPS } from "../../src/fs/read-only.js";
import { FsError, type FsErrno } from "../../src/fs/fs-errors.js";
import { MemoryEntryReader, entryBytes } from "../../src/fs/memory-reader.js";
import type { ManifestEntry } from "../../src/manifest/manifest.js";
import { fsManifest, SAMPLE_FILES } from "../helpers/fs-fixtures.js";

const TIME = new Date("2024-05-06T07:08:09.000Z");

function make(reader: EntryReader, opts: Partial<FilesystemOptions> = {}): QuiltFilesystem {
  const manifest = fsManifest(SAMPLE_FILES, {
    userMeta: { owner: "ml-team" },
    dirMeta: [["images/", { source: "camera" }]],
  });
  return new QuiltFilesystem(manifest, reader, {
    uid: 1234,
    gid: 5678,
    time: TIME,
    topHash: "f".repeat(64),
    ...opts,
  });
}

function setup(): { fs: QuiltFilesystem; reader: MemoryEntryReader } {
  const reader = new MemoryEntryReader();
  return { fs: make(reader), reader };
}

async function errnoOf(work: Promise<unknown>): Promise<FsErrno> {
  const err = await work.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FsError);
  return (err as FsError).code;
}

describe("QuiltFilesystem metadata", () => {
  it("answers getattr with 0444 files and 0555 directories owned by the mounting user, times from the version", async () => {
    const { fs } = setup();
    const file = await fs.getattr("/data/a.csv");
    expect(file).toMatchObject({
      mode: constants.S_IFREG | 0o444,
      uid: 1234,
      gid: 5678,
      size: 70_000,
      nlink: 1,
      blocks: Math.ceil(70_000 / 512),
    });
    expect(file.mtime.getTime()).toBe(TIME.getTime());
    expect(file.atime.getTime()).toBe(TIME.getTime());
    expect(file.ctime.getTime()).toBe(TIME.getTime());
    expect(file.ino).toBe(fs.tree.resolve("/data/a.csv"));
    const dir = await fs.getattr("/data");
    expect(dir).toMatchObject({ mode: constants.S_IFDIR | 0o555, uid: 1234, gid: 5678 });
    expect((await fs.getattr("/")).ino).toBe(1);
    expect((await fs.getattr("/empty.txt")).size).toBe(0);
  });

  it("answers ENOENT for missing names and ENOTDIR through a file", async () => {
    const { fs } = setup();
    expect(await errnoOf(fs.getattr("/missing"))).toBe("ENOENT");
    expect(await errnoOf(fs.getattr("/data/missing/x"))).toBe("ENOENT");
    expect(await errnoOf(fs.getattr("/README.md/x"))).toBe("ENOTDIR");
    expect(await errnoOf(fs.lookup(1, "missing"))).toBe("ENOENT");
    expect(await errnoOf(fs.lookup(fs.tree.resolve("/README.md"), "x"))).toBe("ENOTDIR");
    expect((await fs.lookup(fs.tree.resolve("/unicode"), "😀 emoji.bin")).size).toBe(65_537);
  });

  it("lists a directory's children in name order with their attributes", async () => {
    const { fs } = setup();
    const list = await fs.readdir("/images");
    expect(list.map((e) => e.name)).toEqual(["train", "val"]);
    expect(list.every((e) => (e.attr.mode & constants.S_IFMT) === constants.S_IFDIR)).toBe(true);
    const train = await fs.readdir("/images/train");
    expect(train.map((e) => [e.name, e.attr.size])).toEqual([
      ["0001.jpg", 200_000],
      ["0002.jpg", 150_001],
    ]);
    expect(await errnoOf(fs.readdir("/README.md"))).toBe("ENOTDIR");
    expect(await errnoOf(fs.readdir("/nope"))).toBe("ENOENT");
  });

  it("gives readdir each child's name and attributes as a listing has them, . and .. first, in pages resuming at an offset", async () => {
    const { fs } = setup();
    for (const dir of ["/", "/images", "/images/train", "/data"]) {
      const { self, parent, children } = await fs.listing(dir);
      const expected = [{ name: ".", attr: self }, { name: "..", attr: parent }, ...children];
      const pages = await fs.openListing(dir);
      const got: { name: string; attr: unknown }[] = [];
      for (let offset = 0, page = pages.page(0); page.names.length > 0; page = pages.page(offset)) {
        // Resume after the first entry of each page only: what a kernel whose buffer held one entry would ask.
        page.names.slice(0, 1).forEach((name, i) => got.push({ name, attr: page.attrs[i] }));
        expect(page.offsets[0]).toBe(offset + 1);
        offset = page.offsets[0] as number;
      }
      expect(got, dir).toEqual(expected);
    }
    expect(await errnoOf(fs.openListing("/README.md"))).toBe("ENOTDIR");
    expect(await errnoOf(fs.openListing("/nope"))).toBe("ENOENT");
  });

  it("asks the reader whether a file failed only while some file has", async () => {
    // Asking means building the file's path (a walk up the index per stat of a large mount).
    const asked: string[] = [];
    const failed = new Set<string>();
    const reader: EntryReader = Object.assign(new MemoryEntryReader(), {
      anyFailed: () => failed.size > 0,
      hasFailed: (key: string) => (asked.push(key), failed.has(key)),
    });
    const fs = make(reader);
    expect((await fs.getattr("/data/a.csv")).mtime.getTime()).toBe(TIME.getTime());
    expect(asked).toEqual([]);
    failed.add("data/a.csv");
    expect((await fs.getattr("/data/a.csv")).mtime.getTime()).not.toBe(TIME.getTime());
    expect((await fs.getattr("/README.md")).mtime.getTime()).toBe(TIME.getTime());
    expect(asked).toEqual(["data/a.csv", "README.md"]);
  });

  it("never calls the reader for metadata operations", async () => {
    const { fs, reader } = setup();
    for (const f of SAMPLE_FILES) {
      await fs.getattr("/" + f.key);
      await fs.listxattr("/" + f.key);
      await fs.getxattr("/" + f.key, "user.quilt.meta");
    }
    await fs.readdir("/");
    await fs.statfs();
    expect(reader.opens + reader.reads + reader.releases).toBe(0);
  });

  it("reports statfs from the tree, read-only, with 32-bit block counts", async () => {
    const { fs } = setup();
    const s = await fs.statfs();
    const total = SAMPLE_FILES.reduce((n, f) => n + f.size, 0);
    expect(s).toMatchObject({
      frsize: 4096,
      blocks: Math.ceil(total / 4096),
      bfree: 0,
      bavail: 0,
      files: fs.tree.nodeCount,
      namemax: 255,
      flag: 1,
    });
    const huge = new QuiltFilesystem(fsManifest([{ key: "x", size: 2 ** 50 }]), new MemoryEntryReader(), {
      uid: 0,
      gid: 0,
      time: TIME,
    });
    const h = await huge.statfs();
    expect(h.blocks).toBeLessThanOrEqual(0xffffffff);
    expect(h.blocks * h.frsize).toBeGreaterThanOrEqual(2 ** 50);
  });

  it("answers EROFS to every mutating operation", async () => {
    const { fs } = setup();
    for (const op of MUTATING_OPS) expect(await errnoOf(fs.refuse(op, "/README.md")), op).toBe("EROFS");
    expect(MUTATING_OPS).toEqual(
      expect.arrayContaining([
        "write",
        "create",
        "mkdir",
        "unlink",
        "rename",
        "truncate",
        "setxattr",
        "chmod",
        "utimens",
      ]),
    );
  });
});

describe("QuiltFilesystem extended attributes", () => {
  it("lists and returns the hash, user metadata and physical key of a file", async () => {
    const { fs } = setup();
    expect(await fs.listxattr("/images/train/0001.jpg")).toEqual([
      "user.quilt.hash",
      "user.quilt.meta",
      "user.quilt.physical_key",
    ]);
    const meta = JSON.parse(
      (await fs.getxattr("/images/train/0001.jpg", "user.quilt.meta")).toString("utf8"),
    );
    expect(meta).toEqual({ annotations: [{ bbox: [1, 2, 3, 4], label: "cat" }] });
    const entry = fs.tree.entry(fs.tree.resolve("/images/train/0001.jpg")) as ManifestEntry;
    const hash = JSON.parse((await fs.getxattr("/images/train/0001.jpg", "user.quilt.hash")).toString());
    expect(hash).toEqual({ type: "SHA256", value: entry.hash.get("value") });
    expect((await fs.getxattr("/images/train/0001.jpg", "user.quilt.physical_key")).toString()).toBe(
      "s3://test-bucket/data/images/train/0001.jpg?versionId=v6",
    );
    expect((await fs.getxattr("/empty.txt", "user.quilt.meta")).toString()).toBe("{}");
  });

  it("keeps unicode metadata as UTF-8 and numbers as the manifest wrote them", async () => {
    const fs = new QuiltFilesystem(
      fsManifest([{ key: "f", size: 1, meta: { label: "猫 😀", n: 12345678901234567890n, x: 0.1 } }]),
      new MemoryEntryReader(),
      { uid: 0, gid: 0, time: TIME },
    );
    expect((await fs.getxattr("/f", "user.quilt.meta")).toString("utf8")).toBe(
      '{"label": "猫 😀", "n": 12345678901234567890, "x": 0.1}',
    );
  });

  it("shows directory metadata lines and the package's metadata and top hash on the root", async () => {
    const { fs } = setup();
    expect(await fs.listxattr("/images")).toEqual(["user.quilt.meta"]);
    expect(JSON.parse((await fs.getxattr("/images", "user.quilt.meta")).toString())).toEqual({
      source: "camera",
    });
    expect(await fs.listxattr("/data")).toEqual([]);
    expect(await fs.listxattr("/")).toEqual(["user.quilt.meta", "user.quilt.top_hash"]);
    expect(JSON.parse((await fs.getxattr("/", "user.quilt.meta")).toString())).toEqual({ owner: "ml-team" });
    expect((await fs.getxattr("/", "user.quilt.top_hash")).toString()).toBe("f".repeat(64));
  });

  it("answers ENODATA for attributes that do not exist, EOPNOTSUPP outside user.*, and E2BIG for values the kernel refuses", async () => {
    const { fs } = setup();
    expect(await errnoOf(fs.getxattr("/README.md", "user.other"))).toBe("ENODATA");
    expect(await errnoOf(fs.getxattr("/data", "user.quilt.meta"))).toBe("ENODATA");
    expect(await errnoOf(fs.getxattr("/data", "user.quilt.hash"))).toBe("ENODATA");
    expect(await errnoOf(fs.getxattr("/nope", "user.quilt.hash"))).toBe("ENOENT");
    for (const name of ["security.selinux", "system.posix_acl_access", "trusted.overlay.opaque"])
      expect(await errnoOf(fs.getxattr("/README.md", name)), name).toBe("EOPNOTSUPP");
    const big = new QuiltFilesystem(
      fsManifest([{ key: "f", size: 1, meta: { blob: "x".repeat(70_000) } }]),
      new MemoryEntryReader(),
      { uid: 0, gid: 0, time: TIME },
    );
    expect(await errnoOf(big.getxattr("/f", "user.quilt.meta"))).toBe("E2BIG");
  });
});

describe("QuiltFilesystem open and read", () => {
  it("opens read-only and refuses any write access with EROFS", async () => {
    const { fs, reader } = setup();
    expect(await errnoOf(fs.open("/README.md", constants.O_WRONLY))).toBe("EROFS");
    expect(await errnoOf(fs.open("/README.md", constants.O_RDWR))).toBe("EROFS");
    expect(await errnoOf(fs.open("/README.md", constants.O_RDONLY | constants.O_TRUNC))).toBe("EROFS");
    expect(await errnoOf(fs.open("/data", constants.O_RDONLY))).toBe("EISDIR");
    expect(await errnoOf(fs.open("/nope", constants.O_RDONLY))).toBe("ENOENT");
    expect(reader.opens).toBe(0);
    const fh = await fs.open("/README.md", constants.O_RDONLY);
    expect(fh).toBeGreaterThan(0);
    expect(reader.opens).toBe(1);
    expect(reader.reads).toBe(0);
  });

  it("reads exact bytes, stops at the end of the file and reads nothing past it", async () => {
    const { fs, reader } = setup();
    const fh = await fs.open("/data/a.csv", constants.O_RDONLY);
    expect((await fs.read(fh, 0, 4096)).equals(entryBytes("data/a.csv", 0, 4096))).toBe(true);
    expect((await fs.read(fh, 69_000, 128 * 1024)).equals(entryBytes("data/a.csv", 69_000, 1000))).toBe(true);
    expect((await fs.read(fh, 70_000, 10)).length).toBe(0);
    expect((await fs.read(fh, 1_000_000, 10)).length).toBe(0);
    expect(reader.reads).toBe(2);
    expect(await errnoOf(fs.read(fh, -1, 10))).toBe("EINVAL");
    const empty = await fs.open("/empty.txt", constants.O_RDONLY);
    expect((await fs.read(empty, 0, 4096)).length).toBe(0);
    expect(reader.reads).toBe(2);
  });

  it("gives each open its own reader handle and releases it", async () => {
    const { fs, reader } = setup();
    const a = await fs.open("/README.md", constants.O_RDONLY);
    const b = await fs.open("/README.md", constants.O_RDONLY);
    expect(a).not.toBe(b);
    expect(reader.liveHandles.size).toBe(2);
    expect(fs.openFiles).toBe(2);
    await fs.release(a);
    expect(reader.liveHandles.size).toBe(1);
    expect(await errnoOf(fs.read(a, 0, 1))).toBe("EBADF");
    expect((await fs.read(b, 0, 10)).equals(entryBytes("README.md", 0, 10))).toBe(true);
    await fs.release(b);
    expect(reader.releases).toBe(2);
    expect(fs.openFiles).toBe(0);
    expect(await errnoOf(fs.release(b))).toBe("EBADF");
  });

  const mappings: [string, Error, FsErrno][] = [
    ...(["ESTORAGE", "EUNREACHABLE", "EHASHMISMATCH", "ENOTFOUND", "EINTERNAL"] as ErrorCode[]).map(
      (c): [string, Error, FsErrno] => [c, new QuiltError(c, c), "EIO"],
    ),
    ["ESTALE", new QuiltError("ESTALE", "changed"), "ESTALE"],
    ["TimeoutError", Object.assign(new Error("slow"), { name: "TimeoutError" }), "ETIMEDOUT"],
    ["plain Error", new Error("boom"), "EIO"],
  ];
  for (const [what, err, errno] of mappings) {
    it(`maps a reader's ${what} to ${errno}, and the next read works`, async () => {
      const { fs, reader } = setup();
      const fh = await fs.open("/data/a.csv", constants.O_RDONLY);
      reader.failNextRead("data/a.csv", err);
      const thrown = await fs.read(fh, 0, 100).catch((e: unknown) => e);
      expect(thrown).toBeInstanceOf(FsError);
      expect((thrown as FsError).code).toBe(errno);
      expect((thrown as FsError).message).toMatch(new RegExp(`^${errno}: .*, read '/data/a.csv'$`));
      expect((await fs.read(fh, 0, 100)).equals(entryBytes("data/a.csv", 0, 100))).toBe(true);
    });
  }

  it("answers EIO when a reader returns the wrong number of bytes", async () => {
    const short: EntryReader = { read: async (_e, _o, length) => Buffer.alloc(length - 1) };
    const fs = make(short);
    const fh = await fs.open("/README.md", constants.O_RDONLY);
    expect(await errnoOf(fs.read(fh, 0, 100))).toBe("EIO");
  });

  it("answers ETIMEDOUT when a read misses its deadline", async () => {
    const hung: EntryReader = { read: () => new Promise<Buffer>(() => undefined) };
    const fs = make(hung, { readTimeoutMs: 50 });
    const fh = await fs.open("/README.md", constants.O_RDONLY);
    const started = Date.now();
    expect(await errnoOf(fs.read(fh, 0, 100))).toBe("ETIMEDOUT");
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it("aborts the read's signal at the deadline, so the reader drops its work (no pile-up behind readers that gave up)", async () => {
    let signal: AbortSignal | undefined;
    const hung: EntryReader = {
      read: (_e, _o, _l, _h, s) => {
        signal = s;
        return new Promise<Buffer>(() => undefined);
      },
    };
    const fs = make(hung, { readTimeoutMs: 50 });
    const fh = await fs.open("/README.md", constants.O_RDONLY);
    expect(await errnoOf(fs.read(fh, 0, 100))).toBe("ETIMEDOUT");
    expect(signal?.aborted).toBe(true);
    const fine: EntryReader = {
      read: async (_e, _o, length, _h, s) => {
        signal = s;
        return Buffer.alloc(length);
      },
    };
    const fs2 = make(fine, { readTimeoutMs: 50 });
    await fs2.read(await fs2.open("/README.md", constants.O_RDONLY), 0, 10);
    expect(signal?.aborted).toBe(false);
  });

  it("maps a failing reader.open to EIO and keeps no handle", async () => {
    const failing: EntryReader = {
      open: () => {
        throw new QuiltError("ESTORAGE", "no");
      },
      read: async () => Buffer.alloc(0),
    };
    const fs = make(failing);
    expect(await errnoOf(fs.open("/README.md", constants.O_RDONLY))).toBe("EIO");
    expect(fs.openFiles).toBe(0);
  });
});
