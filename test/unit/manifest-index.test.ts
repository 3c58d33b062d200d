import fc from "fast-check";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { IndexedTree } from "../../src/fs/indexed-tree.js";
import { InodeTree, NOT_A_DIRECTORY, NOT_FOUND, ROOT_INO } from "../../src/fs/inode-tree.js";
import type { FsTree } from "../../src/fs/tree.js";
import { hashValue, type Manifest } from "../../src/manifest/manifest.js";
import { manifestJson } from "../../src/manifest/python-json.js";
import { entryLine } from "../../src/manifest/manifest-writer.js";
import { ManifestIndex, versionKey, type VersionId } from "../../src/storage/manifest-index.js";
import type { TopHash } from "../../src/types.js";
import { fsManifest, SAMPLE_FILES, type FileSpec } from "../helpers/fs-fixtures.js";
import { flipByteIn } from "./manifest-index-fixtures.js";

let dir: string;
let index: ManifestIndex;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "quilt-manifest-index-"));
  index = ManifestIndex.open(join(dir, "manifests"));
});

afterEach(async () => {
  await index.close();
  await rm(dir, { recursive: true, force: true });
});

function idOf(m: Manifest, registry = "file:///registry"): VersionId {
  return { registry, name: "ns/pkg", topHash: m.topHash };
}

function indexed(m: Manifest, id = idOf(m)): IndexedTree {
  const header = index.header(id) ?? index.build(id, m);
  return new IndexedTree(index, versionKey(id), header);
}

/** Every path of a tree with what a walk sees there: kind, size, entry and metadata. */
function describeTree(tree: FsTree): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (ino: number) => {
    const e = tree.entry(ino);
    const meta = tree.dirMeta(ino);
    out.set(
      tree.path(ino),
      JSON.stringify([
        tree.name(ino),
        tree.isDirectory(ino),
        tree.sizeOf(ino),
        tree.childCountOf(ino),
        e && [e.logicalKey, e.physicalKey.toString(), manifestJson(e.hash), manifestJson(e.meta)],
        meta && manifestJson(meta),
        tree.path(tree.parent(ino)),
      ]),
    );
    for (const c of tree.list(ino)) {
      expect(tree.lookup(ino, c.name)).toBe(c.ino);
      expect(tree.resolve("/" + tree.path(c.ino))).toBe(c.ino);
      visit(c.ino);
    }
  };
  visit(ROOT_INO);
  return out;
}

describe("ManifestIndex", () => {
  it("answers every lookup, listing, size, entry and metadata as the in-memory tree does", () => {
    const m = fsManifest(SAMPLE_FILES, {
      dirMeta: [
        ["data/", { note: "d" }],
        ["empty/sub/", { x: 1.5 }],
      ],
      userMeta: { title: "t" },
    });
    const tree = indexed(m);
    expect(describeTree(tree)).toEqual(describeTree(InodeTree.build(m)));
    expect([tree.nodeCount, tree.fileCount, tree.totalBytes]).toEqual([
      InodeTree.build(m).nodeCount,
      m.size,
      m.totalBytes(),
    ]);
    expect(tree.resolve("/README.md/x")).toBe(NOT_A_DIRECTORY);
    expect(tree.resolve("/nope")).toBe(NOT_FOUND);
    expect(tree.lookup(tree.resolve("/README.md"), "x")).toBe(NOT_FOUND);
    expect(() => tree.name(tree.nodeCount + 1)).toThrow(/No inode/);
  });

  it("matches the in-memory tree on random manifests (unicode, astral, names around '/')", () => {
    const name = fc.constantFrom(
      "a",
      "b",
      "a-b",
      "a.b",
      "ab",
      "a b",
      "é",
      "日本",
      "\u{E000}",
      "😀",
      "z",
      "0",
    );
    const key = fc.array(name, { minLength: 1, maxLength: 4 }).map((p) => p.join("/"));
    fc.assert(
      fc.property(fc.uniqueArray(key, { minLength: 1, maxLength: 30 }), (keys) => {
        const files = keys.filter((k) => !keys.some((o) => o.startsWith(k + "/")));
        const m = fsManifest(files.map((k, i): FileSpec => ({ key: k, size: k.length * i })));
        expect(describeTree(indexed(m))).toEqual(describeTree(InodeTree.build(m)));
      }),
      { numRuns: 60 },
    );
  });

  it("is built once per version: reopened (a new index object, as after a restart) it is found, not rebuilt", async () => {
    const m = fsManifest(SAMPLE_FILES);
    const id = idOf(m);
    index.build(id, m);
    await index.close();
    index = ManifestIndex.open(join(dir, "manifests"));
    const header = index.header(id);
    expect(header).toMatchObject({ files: SAMPLE_FILES.length, readsS3: true, topHash: m.topHash });
    expect(index.builds).toBe(0);
    const tree = new IndexedTree(index, versionKey(id), header!);
    expect(tree.entry(tree.resolve("images/train/0001.jpg"))?.size).toBe(200_000);
  });

  it("keeps versions apart by registry: another registry's same top hash is not indexed", () => {
    const m = fsManifest(SAMPLE_FILES);
    index.build(idOf(m, "s3://real"), m);
    expect(index.header(idOf(m, "s3://real"))).toBeDefined();
    expect(index.header(idOf(m, "s3://impostor"))).toBeUndefined();
  });

  it("refuses to index a manifest under another top hash", () => {
    const m = fsManifest(SAMPLE_FILES);
    expect(() =>
      index.build({ registry: "r", name: "ns/pkg", topHash: "0".repeat(64) as TopHash }, m),
    ).toThrow(/Refusing to index/);
  });

  it("lists a flat directory of 5,000 names in order, each with its size, and finds each one", () => {
    const files = Array.from({ length: 5000 }, (_, i): FileSpec => ({
      key: `flat/f${String(i).padStart(5, "0")}.bin`,
      size: i,
    }));
    const tree = indexed(fsManifest(files));
    const flat = tree.resolve("flat");
    const list = tree.list(flat);
    expect(list.map((c) => c.name)).toEqual(files.map((f) => f.key.slice(5)));
    expect(list.map((c) => tree.sizeOf(c.ino))).toEqual(files.map((f) => f.size));
    for (const f of files.filter((_, i) => i % 97 === 0))
      expect(tree.entry(tree.resolve(f.key))?.logicalKey).toBe(f.key);
  });

  it("detects a damaged record: the lookup fails and the version is dropped, to be indexed again", async () => {
    const files = Array.from({ length: 600 }, (_, i): FileSpec => ({
      key: `d/f${String(i).padStart(4, "0")}`,
      size: i,
    }));
    const m = fsManifest(files);
    const id = idOf(m);
    index.build(id, m);
    await index.close();
    // Flip one byte of the hash of one entry in its page, as a bad sector would.
    const flipped = await flipByteIn(join(dir, "manifests"), hashValue(m.get("d/f0300")!));
    expect(flipped).toBe(1);
    index = ManifestIndex.open(join(dir, "manifests"));
    const tree = new IndexedTree(index, versionKey(id), index.header(id)!);
    // Its neighbours, in the same page, still read; the damaged node is refused.
    expect(tree.entry(tree.resolve("d/f0299"))?.size).toBe(299);
    expect(() => tree.entry(tree.resolve("d/f0300"))).toThrow(/damaged record/);
    expect(index.header(id)).toBeUndefined();
  });

  it("walks every entry of a version in order, from the index alone", () => {
    const m = fsManifest(SAMPLE_FILES);
    const id = idOf(m);
    index.build(id, m);
    const seen: string[] = [];
    const vid = versionKey(id);
    for (const text of index.files(vid, index.header(id)!.files)) seen.push(text);
    expect(seen).toEqual(m.entries.map((e) => entryLine(e)));
  });
});
