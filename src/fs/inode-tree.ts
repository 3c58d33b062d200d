// The directory tree of a mounted package version, built once from its manifest and never
// changed (a new version is a new tree). It must hold a million entries in little memory
// and answer lookups without touching storage, so it keeps no object per node: a few typed
// arrays indexed by inode, and names as (key, offset, length) slices of the logical-key
// strings the manifest already holds.
//
// The manifest lists entries in quilt3's walk order ("/" sorts below every character),
// which is a pre-order walk of the tree: each directory's contents are contiguous and
// siblings come in code-point order of their names. Numbering nodes in that walk gives
// inode numbers that depend only on the manifest (stable across builds and remounts) and
// sibling lists that are sorted, so a lookup by name is a binary search. That numbering
// pass is inode-tree-walk.ts.
import { QuiltError } from "../errors.js";
import type { Manifest, ManifestEntry } from "../manifest/manifest.js";
import { compareCodePointsAt } from "../code-point-order.js";
import type { JsonValue } from "../manifest/json-value.js";
import { FILE, walk } from "./inode-tree-walk.js";
import { resolvePath, NOT_FOUND, type FsTree } from "./tree.js";

export { NOT_A_DIRECTORY, NOT_FOUND, ROOT_INO } from "./tree.js";

export class InodeTree implements FsTree {
  /** Nodes (inodes) in the tree, the root included; inode numbers run from 1 to `nodeCount`. */
  readonly nodeCount: number;
  readonly fileCount: number;
  readonly totalBytes: number;

  private constructor(
    private readonly entries: readonly ManifestEntry[],
    /** Directory-metadata keys ("a/b/"), addressed as key index `entries.length + i`. */
    private readonly dirKeys: readonly string[],
    private readonly dirMetaValues: readonly JsonValue[],
    // Per node index (inode - 1):
    private readonly parentOf: Uint32Array,
    /** The key whose text holds this node's name: an entry index, or a dirKeys index past the entries. */
    private readonly keyRef: Uint32Array,
    private readonly nameStart: Uint32Array,
    private readonly nameLen: Uint32Array,
    /** For a directory, where its children start in `childList`; FILE for a file. */
    private readonly firstChild: Uint32Array,
    private readonly childCount: Uint32Array,
    /** Children of every directory, grouped by directory, each group in name order. */
    private readonly childList: Uint32Array,
    /** Node index to its dirKeys index, for directories that have a metadata line. */
    private readonly dirMetaOf: ReadonlyMap<number, number>,
  ) {
    this.nodeCount = parentOf.length;
    this.fileCount = entries.length;
    let total = 0;
    for (const e of entries) total += e.size;
    this.totalBytes = total;
  }

  static build(manifest: Pick<Manifest, "entries" | "dirMeta">): InodeTree {
    const dirMeta = [...manifest.dirMeta];
    const dirKeys = dirMeta.map(([k]) => k);
    const c = walk(manifest.entries, dirKeys);
    return new InodeTree(
      manifest.entries,
      dirKeys,
      dirMeta.map(([, v]) => v),
      c.parent,
      c.keyRef,
      c.nameStart,
      c.nameLen,
      c.firstChild,
      c.childCount,
      c.childList,
      c.dirMetaOf,
    );
  }

  isDirectory(ino: number): boolean {
    return this.firstChild[this.index(ino)] !== FILE;
  }

  /** The manifest entry of a file inode, or undefined for a directory. */
  entry(ino: number): ManifestEntry | undefined {
    const i = this.index(ino);
    return this.firstChild[i] === FILE ? this.entries[this.keyRef[i] as number] : undefined;
  }

  sizeOf(ino: number): number | undefined {
    return this.entry(ino)?.size;
  }

  /** A directory's metadata line (its whole "meta" value), when the manifest has one. */
  dirMeta(ino: number): JsonValue | undefined {
    const k = this.dirMetaOf.get(this.index(ino));
    return k === undefined ? undefined : this.dirMetaValues[k];
  }

  /** The node's name in its directory ("" for the root). */
  name(ino: number): string {
    const i = this.index(ino);
    if (i === 0) return "";
    const start = this.nameStart[i] as number;
    return this.key(this.keyRef[i] as number).slice(start, start + (this.nameLen[i] as number));
  }

  /** The parent's inode (the root is its own parent, as "/.." is "/"). */
  parent(ino: number): number {
    return (this.parentOf[this.index(ino)] as number) + 1;
  }

  /** The logical path of a node without a leading "/" ("" for the root). */
  path(ino: number): string {
    const i = this.index(ino);
    if (i === 0) return "";
    const start = this.nameStart[i] as number;
    return this.key(this.keyRef[i] as number).slice(0, start + (this.nameLen[i] as number));
  }

  /** Children of a directory inode, in name order; none for a file. */
  *children(ino: number): Generator<number> {
    const i = this.index(ino);
    const first = this.firstChild[i] as number;
    if (first === FILE) return;
    const end = first + (this.childCount[i] as number);
    for (let c = first; c < end; c++) yield (this.childList[c] as number) + 1;
  }

  list(ino: number): { name: string; ino: number }[] {
    return [...this.children(ino)].map((c) => ({ name: this.name(c), ino: c }));
  }

  childCountOf(ino: number): number {
    return this.childCount[this.index(ino)] as number;
  }

  /** The child inode named `name` in directory `parentIno`, or NOT_FOUND. */
  lookup(parentIno: number, name: string): number {
    const p = this.index(parentIno);
    const first = this.firstChild[p] as number;
    if (first === FILE) return NOT_FOUND;
    let lo = first;
    let hi = first + (this.childCount[p] as number) - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.childList[mid] as number;
      // Siblings are in the walk's order (code points); the name is compared in place, not sliced.
      const cmp = compareCodePointsAt(
        this.key(this.keyRef[c] as number),
        this.nameStart[c] as number,
        this.nameLen[c] as number,
        name,
        0,
        name.length,
      );
      if (cmp === 0) return c + 1;
      if (cmp < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return NOT_FOUND;
  }

  /** A "/"-separated path (leading "/" optional, as FUSE passes it) to its inode, NOT_FOUND or NOT_A_DIRECTORY. */
  resolve(path: string): number {
    return resolvePath(this, path);
  }

  private key(k: number): string {
    return k < this.entries.length
      ? (this.entries[k] as ManifestEntry).logicalKey
      : (this.dirKeys[k - this.entries.length] as string);
  }

  private index(ino: number): number {
    if (!Number.isInteger(ino) || ino < 1 || ino > this.nodeCount)
      throw new QuiltError("EINTERNAL", `No inode ${ino} in this tree`);
    return ino - 1;
  }
}
