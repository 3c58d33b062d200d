// A mounted version's tree read from the local manifest index (storage/manifest-index.ts)
// as the kernel asks for it, instead of a million entries held as JS objects. Inodes are
// numbered breadth-first, so a node's parent is found by a binary search over the
// directories (a few thousand numbers held per mount) and its name and size in the
// parent's children table: `ls -l` and `find` read one table per directory and nothing
// else. Opening a file or reading its xattrs reads its node (found through the parent's
// table: its page of file nodes).
// Tables, nodes and pages are cached within one daemon-wide bound (indexed-tree-caches.ts),
// so ten versions mounted at once cost one such cache, not ten, and not ten manifests.
import { QuiltError } from "../errors.js";
import type { JsonValue } from "../manifest/json-value.js";
import type { ManifestEntry } from "../manifest/manifest.js";
import type { ManifestIndex } from "../storage/manifest-index.js";
import {
  type ChildTable,
  decodeDirectory,
  decodeFile,
  type IndexedNode,
  type VersionHeader,
} from "../storage/manifest-index-records.js";
import { treeCaches, type VersionCaches } from "./indexed-tree-caches.js";
import { NOT_FOUND, ROOT_INO, resolvePath, type FsTree } from "./tree.js";

export class IndexedTree implements FsTree {
  readonly nodeCount: number;
  readonly fileCount: number;
  readonly totalBytes: number;
  /** Directory inodes, ascending, with their first child's inode and child count. */
  private readonly dirIno: Uint32Array;
  private readonly dirFirst: Uint32Array;
  private readonly dirCount: Uint32Array;
  private readonly nodes: VersionCaches["nodes"];
  private readonly tables: VersionCaches["tables"];
  private readonly pages: VersionCaches["pages"];

  constructor(
    private readonly index: ManifestIndex,
    private readonly vid: Buffer,
    header: VersionHeader,
  ) {
    this.nodeCount = header.nodes;
    this.fileCount = header.files;
    this.totalBytes = header.totalBytes;
    ({ nodes: this.nodes, tables: this.tables, pages: this.pages } = treeCaches());
    const triples = index.directories(vid);
    const n = triples.length / 3;
    this.dirIno = new Uint32Array(n);
    this.dirFirst = new Uint32Array(n);
    this.dirCount = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      this.dirIno[i] = triples[3 * i] as number;
      this.dirFirst[i] = triples[3 * i + 1] as number;
      this.dirCount[i] = triples[3 * i + 2] as number;
    }
  }

  isDirectory(ino: number): boolean {
    this.check(ino);
    return this.dirIndex(ino) >= 0;
  }

  entry(ino: number): ManifestEntry | undefined {
    if (this.isDirectory(ino)) return undefined;
    const n = this.node(ino);
    return n.kind === "file" ? n.entry : undefined;
  }

  /** A file's size from its parent's table (no node read), or undefined for a directory. */
  sizeOf(ino: number): number | undefined {
    if (this.isDirectory(ino)) return undefined;
    const [table, i] = this.slot(ino);
    return table.size(i);
  }

  dirMeta(ino: number): JsonValue | undefined {
    if (!this.isDirectory(ino)) return undefined;
    const n = this.node(ino);
    return n.kind === "directory" ? n.dirMeta : undefined;
  }

  name(ino: number): string {
    if (this.check(ino) === ROOT_INO) return "";
    const [table, i] = this.slot(ino);
    return table.name(i);
  }

  parent(ino: number): number {
    if (this.check(ino) === ROOT_INO) return ROOT_INO;
    return this.dirIno[this.parentIndex(ino)] as number;
  }

  path(ino: number): string {
    if (this.check(ino) === ROOT_INO) return "";
    const parent = this.parent(ino);
    return parent === ROOT_INO ? this.name(ino) : `${this.path(parent)}/${this.name(ino)}`;
  }

  list(ino: number): { name: string; ino: number }[] {
    const d = this.dirIndex(this.check(ino));
    if (d < 0) return [];
    const t = this.table(d);
    const first = this.dirFirst[d] as number;
    const out = new Array<{ name: string; ino: number }>(t.count);
    for (let i = 0; i < t.count; i++) out[i] = { name: t.name(i), ino: first + i };
    return out;
  }

  childCountOf(ino: number): number {
    const d = this.dirIndex(this.check(ino));
    return d < 0 ? 0 : (this.dirCount[d] as number);
  }

  lookup(parentIno: number, name: string): number {
    const d = this.dirIndex(this.check(parentIno));
    if (d < 0) return NOT_FOUND;
    const i = this.table(d).find(name);
    return i < 0 ? NOT_FOUND : (this.dirFirst[d] as number) + i;
  }

  resolve(path: string): number {
    return resolvePath(this, path);
  }

  /** The file entry at a logical key, or undefined. */
  get(key: string): ManifestEntry | undefined {
    const ino = this.resolve(key);
    return ino > 0 ? this.entry(ino) : undefined;
  }

  private check(ino: number): number {
    if (!Number.isInteger(ino) || ino < 1 || ino > this.nodeCount)
      throw new QuiltError("EINTERNAL", `No inode ${ino} in this tree`);
    return ino;
  }

  /** The position of directory `ino` in the directory list, or -1 for a file. */
  private dirIndex(ino: number): number {
    let lo = 0;
    let hi = this.dirIno.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.dirIno[mid] as number;
      if (v === ino) return mid;
      if (v < ino) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /**
   * The position of `ino`'s parent in the directory list: the last directory whose children
   * start at or before it (children runs are assigned in directory order, so `first` never
   * decreases, and an empty directory after the parent starts past its run).
   */
  private parentIndex(ino: number): number {
    let lo = 0;
    let hi = this.dirFirst.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.dirFirst[mid] as number) <= ino) lo = mid + 1;
      else hi = mid - 1;
    }
    const found = hi;
    if (found < 0 || ino >= (this.dirFirst[found] as number) + (this.dirCount[found] as number))
      throw new QuiltError("EINTERNAL", `No parent for inode ${ino}`);
    return found;
  }

  /** The table holding `ino` and its position there. */
  private slot(ino: number): [ChildTable, number] {
    const d = this.parentIndex(ino);
    return [this.table(d), ino - (this.dirFirst[d] as number)];
  }

  private table(d: number): ChildTable {
    const ino = this.dirIno[d] as number;
    let t = this.tables.get(ino);
    if (t === undefined) {
      t = this.index.children(this.vid, ino);
      if (t === undefined)
        throw new QuiltError(
          "EBADMANIFEST",
          `The local manifest index lacks the children of directory inode ${ino}`,
          { hint: "remount the package: it will be indexed again" },
        );
      this.tables.set(ino, t);
    }
    return t;
  }

  private node(ino: number): IndexedNode {
    let n = this.nodes.get(ino);
    if (n === undefined) {
      if (this.dirIndex(ino) >= 0) n = decodeDirectory(this.index.directoryNode(this.vid, ino));
      else {
        const [table, i] = this.slot(ino);
        n = decodeFile(this.index.fileNode(this.vid, table.file(i), this.pages));
      }
      this.nodes.set(ino, n);
    }
    return n;
  }
}
