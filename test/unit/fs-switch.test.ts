// QuiltFilesystem.switchTo: the served version is replaced in one step. Files opened before
// keep reading their own entry (its size bounds their reads), every lookup, open and listing
// after sees the new version, and nothing the kernel might have cached from the old version
// (inode numbers, mtimes) is reported again for the new one.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { QuiltFilesystem } from "../../src/fs/filesystem.js";
import type { Attr } from "../../src/fs/node-attrs.js";
import { FsError } from "../../src/fs/fs-errors.js";
import { IndexedTree } from "../../src/fs/indexed-tree.js";
import { MemoryEntryReader } from "../../src/fs/memory-reader.js";
import type { Manifest } from "../../src/manifest/manifest.js";
import { ManifestIndex, versionKey } from "../../src/storage/manifest-index.js";
import { fsManifest } from "../helpers/fs-fixtures.js";

const TIME = new Date("2024-05-06T07:08:09.000Z");
const V1 = fsManifest([
  { key: "a/grows.bin", size: 1000 },
  { key: "kept.txt", size: 10 },
  { key: "removed.txt", size: 5 },
]);
const V2 = fsManifest([
  { key: "a/grows.bin", size: 5000 },
  { key: "added.txt", size: 7 },
  { key: "kept.txt", size: 10 },
]);

function make(): QuiltFilesystem {
  return new QuiltFilesystem(V1, new MemoryEntryReader(), {
    uid: 0,
    gid: 0,
    time: TIME,
    topHash: "1".repeat(64),
  });
}

describe("QuiltFilesystem.switchTo", () => {
  it("serves the new tree to every later operation while open handles keep their old entry", async () => {
    const fs = make();
    const fh = await fs.open("/a/grows.bin", 0);
    const rootListing = await fs.openListing("/");
    const firstPage = rootListing.page(0);
    const old = fs.switchTo(V2, { time: TIME, topHash: "2".repeat(64) });
    // A directory opened before the switch lists v1 to its end: its pages never mix versions.
    expect(firstPage.names.slice(0, 2).concat(rootListing.page(2).names)).toEqual([
      ".",
      "..",
      "a",
      "kept.txt",
      "removed.txt",
    ]);
    expect(old.fileCount).toBe(3);
    expect(fs.olderOpen()).toBe(1);
    // The handle opened in v1 reads v1's 1000 bytes and no further.
    expect((await fs.read(fh, 0, 8192)).length).toBe(1000);
    await fs.release(fh);
    expect(fs.olderOpen()).toBe(0);
    const fh2 = await fs.open("/a/grows.bin", 0);
    expect((await fs.read(fh2, 0, 8192)).length).toBe(5000);
    expect((await fs.getattr("/a/grows.bin")).size).toBe(5000);
    expect((await fs.readdir("/")).map((e) => e.name)).toEqual(["a", "added.txt", "kept.txt"]);
    await expect(fs.getattr("/removed.txt")).rejects.toBeInstanceOf(FsError);
    expect((await fs.getxattr("/", "user.quilt.top_hash")).toString()).toBe("2".repeat(64));
  });

  it("says when the last handle of a path opened before the switch is released, not before", async () => {
    const closed: string[] = [];
    const fs = new QuiltFilesystem(V1, new MemoryEntryReader(), {
      uid: 0,
      gid: 0,
      time: TIME,
      onOlderClosed: (p) => closed.push(p),
    });
    const a = await fs.open("/kept.txt", 0);
    const b = await fs.open("/kept.txt", 0);
    const before = await fs.open("/removed.txt", 0);
    await fs.release(before); // closed before any switch: nothing to forget
    fs.switchTo(V2, { time: TIME });
    const c = await fs.open("/kept.txt", 0); // opened in v2
    await fs.release(a);
    expect(closed).toEqual([]);
    await fs.release(c);
    expect(closed).toEqual([]);
    await fs.release(b);
    expect(closed).toEqual(["/kept.txt"]);
  });

  it("numbers the new version's inodes apart from the old one's and moves its mtime, even for a version of the same second", async () => {
    const fs = make();
    const before = await fs.getattr("/kept.txt");
    const rootBefore = await fs.getattr("/");
    fs.switchTo(V2, { time: TIME });
    const after = await fs.getattr("/kept.txt");
    expect(after.ino).not.toBe(before.ino);
    expect((await fs.getattr("/")).ino).not.toBe(rootBefore.ino);
    // libfuse's auto_cache keeps a file's pages while its size and mtime stay put.
    expect(after.mtime.getTime()).not.toBe(before.mtime.getTime());
    // A listing's entries, its own and its parent's attributes come from one version.
    const listing = await fs.listing("/a");
    expect(listing.self.ino).toBe((await fs.getattr("/a")).ino);
    expect(listing.parent.ino).toBe((await fs.getattr("/")).ino);
    expect(listing.children.map((c) => [c.name, c.attr.size, c.attr.ino])).toEqual([
      ["grows.bin", 5000, (await fs.getattr("/a/grows.bin")).ino],
    ]);
    // What readdir hands the kernel carries the new version's inode numbers and sizes too.
    expect((await fs.openListing("/a")).page(0).attrs.map((a) => [a.ino, a.size])).toEqual([
      [listing.self.ino, listing.self.size],
      [listing.parent.ino, listing.parent.size],
      [listing.children[0]?.attr.ino, 5000],
    ]);
  });

  it("switches the same way between trees read from the manifest index (what a mount serves) as between trees built in memory", async () => {
    const dir = await mkdtemp(join(tmpdir(), "quilt-fs-switch-"));
    const index = ManifestIndex.open(join(dir, "manifests"));
    try {
      const indexed = (m: Manifest) => {
        const id = { registry: "file:///registry", name: "ns/pkg", topHash: m.topHash };
        return {
          tree: new IndexedTree(index, versionKey(id), index.build(id, m)),
          userMeta: m.userMeta,
        };
      };
      const memory = make();
      const fs = new QuiltFilesystem(indexed(V1), new MemoryEntryReader(), {
        uid: 0,
        gid: 0,
        time: TIME,
        topHash: "1".repeat(64),
      });
      const fh = await fs.open("/a/grows.bin", 0);
      const old = fs.switchTo(indexed(V2), { time: TIME, topHash: "2".repeat(64) });
      memory.switchTo(V2, { time: TIME, topHash: "2".repeat(64) });
      expect(old).toBeInstanceOf(IndexedTree);
      expect(old.list(1).map((c) => c.name)).toEqual(["a", "kept.txt", "removed.txt"]);
      expect(fs.olderOpen()).toBe(1);
      expect((await fs.read(fh, 0, 8192)).length).toBe(1000);
      await fs.release(fh);
      // The two trees number inodes in other orders (the index breadth-first): all else is the same.
      const noIno = ({ ino: _ino, ...rest }: Attr) => rest;
      for (const path of ["/", "/a", "/a/grows.bin", "/added.txt", "/kept.txt"]) {
        const attr = await fs.getattr(path);
        expect(noIno(attr)).toEqual(noIno(await memory.getattr(path)));
        // Numbered past the old version's nodes, as in memory.
        expect(attr.ino).toBeGreaterThan(old.nodeCount);
      }
      expect((await fs.readdir("/")).map((c) => [c.name, noIno(c.attr)])).toEqual(
        (await memory.readdir("/")).map((c) => [c.name, noIno(c.attr)]),
      );
      const listing = await fs.listing("/a");
      expect([listing.self.ino, listing.parent.ino, listing.children.map((c) => c.attr.ino)]).toEqual([
        (await fs.getattr("/a")).ino,
        (await fs.getattr("/")).ino,
        [(await fs.getattr("/a/grows.bin")).ino],
      ]);
      await expect(fs.getattr("/removed.txt")).rejects.toBeInstanceOf(FsError);
      expect((await fs.getxattr("/", "user.quilt.top_hash")).toString()).toBe("2".repeat(64));
    } finally {
      await index.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
