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
// sibling lists that are sorted, so a lookup by name is a binary search.
import { QuiltError } from "../errors.js";
import type { Manifest, ManifestEntry } from "../manifest/manifest.js";
import { compareLogicalKeys } from "../manifest/logical-key.js";
import { compareCodePointsAt } from "../code-point-order.js";
import type { JsonValue } from "../manifest/json-value.js";
import { resolvePath, NOT_FOUND, type FsTree } from "./tree.js";

export { NOT_A_DIRECTORY, NOT_FOUND, ROOT_INO } from "./tree.js";

/** Marks a file in `firstChild` (directories hold an offset into `childList` there). */
const FILE = 0xffffffff;

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

/** Typed arrays that grow by doubling while the walk discovers directories. */
class NodeColumns {
  size = 0;
  parent: Uint32Array;
  keyRef: Uint32Array;
  nameStart: Uint32Array;
  nameLen: Uint32Array;
  isFile: Uint8Array;

  constructor(capacity: number) {
    this.parent = new Uint32Array(capacity);
    this.keyRef = new Uint32Array(capacity);
    this.nameStart = new Uint32Array(capacity);
    this.nameLen = new Uint32Array(capacity);
    this.isFile = new Uint8Array(capacity);
  }

  add(parent: number, keyRef: number, nameStart: number, nameLen: number, isFile: boolean): number {
    if (this.size === this.parent.length) this.grow();
    const i = this.size++;
    this.parent[i] = parent;
    this.keyRef[i] = keyRef;
    this.nameStart[i] = nameStart;
    this.nameLen[i] = nameLen;
    this.isFile[i] = isFile ? 1 : 0;
    return i;
  }

  private grow(): void {
    const cap = this.parent.length * 2;
    const more32 = (a: Uint32Array): Uint32Array => {
      const b = new Uint32Array(cap);
      b.set(a);
      return b;
    };
    this.parent = more32(this.parent);
    this.keyRef = more32(this.keyRef);
    this.nameStart = more32(this.nameStart);
    this.nameLen = more32(this.nameLen);
    const isFile = new Uint8Array(cap);
    isFile.set(this.isFile);
    this.isFile = isFile;
  }
}

interface Columns {
  parent: Uint32Array;
  keyRef: Uint32Array;
  nameStart: Uint32Array;
  nameLen: Uint32Array;
  firstChild: Uint32Array;
  childCount: Uint32Array;
  childList: Uint32Array;
  dirMetaOf: Map<number, number>;
}

/**
 * Numbers the nodes in walk order and groups children by directory. Relies on the
 * Manifest's invariant that entries (and directory keys) are sorted in walk order; checking
 * it again here would cost a tenth of a second on a million entries.
 */
function walk(entries: readonly ManifestEntry[], dirKeys: readonly string[]): Columns {
  const nEntries = entries.length;
  // A guess at the node count (files plus about one directory per ten files); grows if short.
  const nodes = new NodeColumns(Math.max(16, nEntries + nEntries / 10 + dirKeys.length + 1));
  const dirMetaOf = new Map<number, number>();
  nodes.add(0, 0, 0, 0, false); // the root, its own parent
  // Open directories from the root down: their node and their path with a trailing "/".
  const stackNode: number[] = [0];
  const stackPath: string[] = [""];
  let e = 0;
  let d = 0;
  while (e < nEntries || d < dirKeys.length) {
    // Merge the two sorted streams; a directory key sorts before everything under it.
    const takeDir =
      d < dirKeys.length &&
      (e >= nEntries ||
        compareLogicalKeys(dirKeys[d] as string, (entries[e] as ManifestEntry).logicalKey) < 0);
    const keyIndex = takeDir ? nEntries + d : e;
    const key = takeDir ? (dirKeys[d++] as string) : (entries[e++] as ManifestEntry).logicalKey;
    while (stackPath.length > 1 && !key.startsWith(stackPath[stackPath.length - 1] as string)) {
      stackNode.pop();
      stackPath.pop();
    }
    let start = (stackPath[stackPath.length - 1] as string).length;
    for (let slash = key.indexOf("/", start); slash >= 0; slash = key.indexOf("/", start)) {
      const dir = nodes.add(stackNode[stackNode.length - 1] as number, keyIndex, start, slash - start, false);
      stackNode.push(dir);
      stackPath.push(key.slice(0, slash + 1));
      start = slash + 1;
    }
    if (takeDir) dirMetaOf.set(stackNode[stackNode.length - 1] as number, keyIndex - nEntries);
    else nodes.add(stackNode[stackNode.length - 1] as number, keyIndex, start, key.length - start, true);
  }

  // Group children by parent. Nodes were numbered in walk order, so each group comes out
  // in name order.
  const n = nodes.size;
  const childCount = new Uint32Array(n);
  for (let i = 1; i < n; i++) {
    const p = nodes.parent[i] as number;
    childCount[p] = (childCount[p] as number) + 1;
  }
  const firstChild = new Uint32Array(n);
  let offset = 0;
  for (let i = 0; i < n; i++) {
    if (nodes.isFile[i]) {
      firstChild[i] = FILE;
    } else {
      firstChild[i] = offset;
      offset += childCount[i] as number;
    }
  }
  const childList = new Uint32Array(Math.max(0, n - 1));
  const fill = new Uint32Array(n);
  for (let i = 1; i < n; i++) {
    const p = nodes.parent[i] as number;
    const k = fill[p] as number;
    childList[(firstChild[p] as number) + k] = i;
    fill[p] = k + 1;
  }
  return {
    parent: nodes.parent.slice(0, n),
    keyRef: nodes.keyRef.slice(0, n),
    nameStart: nodes.nameStart.slice(0, n),
    nameLen: nodes.nameLen.slice(0, n),
    firstChild,
    childCount,
    childList,
    dirMetaOf,
  };
}
