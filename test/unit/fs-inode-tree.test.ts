import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InodeTree, NOT_A_DIRECTORY, NOT_FOUND, ROOT_INO } from "../../src/fs/inode-tree.js";
import { compareCodePoints } from "../../src/code-point-order.js";
import { fsManifest, SAMPLE_FILES, type FileSpec } from "../helpers/fs-fixtures.js";

function build(files: FileSpec[], dirMeta: [string, unknown][] = []): InodeTree {
  return InodeTree.build(fsManifest(files, { dirMeta }));
}

function childNames(tree: InodeTree, ino: number): string[] {
  return [...tree.children(ino)].map((c) => tree.name(c));
}

/** Every directory path implied by a set of file keys ("a/b/c" gives "a" and "a/b"). */
function dirsOf(keys: string[]): Set<string> {
  const dirs = new Set<string>();
  for (const k of keys) {
    const parts = k.split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  return dirs;
}

describe("InodeTree", () => {
  it("builds nested directories from logical key prefixes", () => {
    const tree = build(SAMPLE_FILES);
    const keys = SAMPLE_FILES.map((f) => f.key);
    const dirs = dirsOf(keys);
    expect(tree.nodeCount).toBe(1 + keys.length + dirs.size);
    expect(tree.fileCount).toBe(keys.length);
    expect(tree.totalBytes).toBe(SAMPLE_FILES.reduce((n, f) => n + f.size, 0));
    for (const f of SAMPLE_FILES) {
      const ino = tree.resolve("/" + f.key);
      expect(ino, f.key).toBeGreaterThan(ROOT_INO);
      expect(tree.isDirectory(ino)).toBe(false);
      expect(tree.entry(ino)?.logicalKey).toBe(f.key);
      expect(tree.entry(ino)?.size).toBe(f.size);
      expect(tree.path(ino)).toBe(f.key);
      expect(tree.resolve(f.key)).toBe(ino); // the leading "/" is optional
    }
    for (const d of dirs) {
      const ino = tree.resolve("/" + d);
      expect(tree.isDirectory(ino), d).toBe(true);
      expect(tree.entry(ino)).toBeUndefined();
      expect(tree.path(ino)).toBe(d);
    }
    expect(childNames(tree, ROOT_INO)).toEqual([
      "README.md",
      "big",
      "data",
      "data-b.bin",
      "empty.txt",
      "images",
      "unicode",
    ]);
    expect(childNames(tree, tree.resolve("/data"))).toEqual(["a.csv", "nested"]);
    expect(childNames(tree, tree.resolve("/data/nested"))).toEqual(["deeper", "z.bin"]);
  });

  it("links every node to its parent; the root is its own parent", () => {
    const tree = build(SAMPLE_FILES);
    expect(tree.parent(ROOT_INO)).toBe(ROOT_INO);
    expect(tree.name(ROOT_INO)).toBe("");
    expect(tree.path(ROOT_INO)).toBe("");
    for (let ino = 2; ino <= tree.nodeCount; ino++) {
      const p = tree.parent(ino);
      expect([...tree.children(p)]).toContain(ino);
      expect(tree.lookup(p, tree.name(ino))).toBe(ino);
    }
  });

  it("orders unicode and astral names by code point and finds them", () => {
    const tree = build(SAMPLE_FILES);
    const uni = tree.resolve("/unicode");
    // U+E000 sorts below U+1F600 by code point, though its UTF-16 unit is above the surrogates.
    expect(childNames(tree, uni)).toEqual([
      "héllo wörld.txt",
      "日本語",
      "\u{E000}private.bin",
      "😀 emoji.bin",
    ]);
    for (const name of childNames(tree, uni)) expect(tree.lookup(uni, name)).toBeGreaterThan(0);
    expect(tree.entry(tree.resolve("/unicode/日本語/ファイル.dat"))?.size).toBe(777);
    expect(tree.lookup(uni, "hello wörld.txt")).toBe(NOT_FOUND);
  });

  it("keeps empty files as files", () => {
    const tree = build(SAMPLE_FILES);
    const ino = tree.resolve("/empty.txt");
    expect(tree.isDirectory(ino)).toBe(false);
    expect(tree.entry(ino)?.size).toBe(0);
    expect(tree.childCountOf(ino)).toBe(0);
    expect([...tree.children(ino)]).toEqual([]);
  });

  it("orders a directory before files whose names extend its name ('/' sorts lowest)", () => {
    const tree = build([
      { key: "a0", size: 1 },
      { key: "a.c", size: 1 },
      { key: "a/y/z", size: 1 },
      { key: "a-b", size: 1 },
      { key: "a/x", size: 1 },
      { key: "a b", size: 1 },
    ]);
    expect(childNames(tree, ROOT_INO)).toEqual(["a", "a b", "a-b", "a.c", "a0"]);
    expect(tree.isDirectory(tree.resolve("/a"))).toBe(true);
    expect(childNames(tree, tree.resolve("/a"))).toEqual(["x", "y"]);
    for (const name of ["a", "a b", "a-b", "a.c", "a0"])
      expect(tree.lookup(ROOT_INO, name), name).toBeGreaterThan(0);
  });

  it("gives the same inode numbers to two builds of the same manifest, whatever the input order", () => {
    const a = build(SAMPLE_FILES);
    const b = build([...SAMPLE_FILES].reverse());
    expect(b.nodeCount).toBe(a.nodeCount);
    for (let ino = 1; ino <= a.nodeCount; ino++) expect(b.path(ino)).toBe(a.path(ino));
    // Walk order: the root is 1, then each name in sorted order, depth first.
    expect(a.resolve("/README.md")).toBe(2);
    expect(a.resolve("/big")).toBe(3);
    expect(a.resolve("/big/one-mebibyte-plus.bin")).toBe(4);
  });

  it("answers NOT_FOUND for missing names and NOT_A_DIRECTORY through a file", () => {
    const tree = build(SAMPLE_FILES);
    expect(tree.resolve("/nope")).toBe(NOT_FOUND);
    expect(tree.resolve("/data/nope/deeper")).toBe(NOT_FOUND);
    expect(tree.resolve("/README.md/x")).toBe(NOT_A_DIRECTORY);
    expect(tree.resolve("/")).toBe(ROOT_INO);
    expect(tree.resolve("")).toBe(ROOT_INO);
    expect(tree.lookup(tree.resolve("/README.md"), "x")).toBe(NOT_FOUND);
    expect(tree.lookup(ROOT_INO, "")).toBe(NOT_FOUND);
    expect(tree.lookup(ROOT_INO, "READMF.md")).toBe(NOT_FOUND);
    expect(() => tree.name(0)).toThrow(/No inode 0/);
    expect(() => tree.name(tree.nodeCount + 1)).toThrow(/No inode/);
  });

  it("makes directories of directory-metadata lines, even with no files under them", () => {
    const tree = build(
      [{ key: "d/f", size: 1 }],
      [
        ["d/", { note: "d" }],
        ["empty/sub/", { note: "empty" }],
      ],
    );
    expect(childNames(tree, ROOT_INO)).toEqual(["d", "empty"]);
    const sub = tree.resolve("/empty/sub");
    expect(tree.isDirectory(sub)).toBe(true);
    expect(tree.childCountOf(sub)).toBe(0);
    expect(tree.dirMeta(sub)).toEqual(new Map([["note", "empty"]]));
    expect(tree.dirMeta(tree.resolve("/d"))).toEqual(new Map([["note", "d"]]));
    expect(tree.dirMeta(tree.resolve("/empty"))).toBeUndefined();
  });

  it("resolves every key and directory of random manifests, with sorted unique children", () => {
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
      fc.property(fc.uniqueArray(key, { maxLength: 30 }), (keys) => {
        const files = keys.filter((k) => !keys.some((o) => o.startsWith(k + "/")));
        const tree = build(files.map((k) => ({ key: k, size: k.length })));
        for (const k of files) expect(tree.entry(tree.resolve("/" + k))?.logicalKey).toBe(k);
        for (const d of dirsOf(files)) expect(tree.isDirectory(tree.resolve(d))).toBe(true);
        expect(tree.nodeCount).toBe(1 + files.length + dirsOf(files).size);
        for (let ino = 1; ino <= tree.nodeCount; ino++) {
          const names = childNames(tree, ino);
          expect([...names].sort(compareCodePoints)).toEqual(names);
          expect(new Set(names).size).toBe(names.length);
        }
      }),
      { numRuns: 200 },
    );
  });
});
