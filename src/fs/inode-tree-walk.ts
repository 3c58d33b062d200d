// Numbering a manifest's nodes for the inode tree (inode-tree.ts): one pass over its
// entries and directory-metadata keys, both in quilt3's walk order, which is a pre-order
// walk of the tree, so nodes are numbered in walk order and each directory's children come
// out grouped and in name order, in a few typed arrays rather than an object per node.
import { compareLogicalKeys } from "../manifest/logical-key.js";
import type { ManifestEntry } from "../manifest/manifest.js";

/** Marks a file in `firstChild` (directories hold an offset into `childList` there). */
export const FILE = 0xffffffff;

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

/** Per node index (inode - 1), as InodeTree keeps them. */
export interface Columns {
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
export function walk(entries: readonly ManifestEntry[], dirKeys: readonly string[]): Columns {
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
