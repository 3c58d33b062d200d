// What the filesystem core needs of a package version's directory tree. Two trees answer
// it: InodeTree, built in memory from a parsed manifest (tests, the library), and
// IndexedTree, read from the local manifest index (mounts: a million entries without a JS
// object each). Each numbers its nodes its own way (walk order, breadth-first): an inode
// number means something only within the tree that gave it.
import type { JsonValue } from "../manifest/json-value.js";
import type { ManifestEntry } from "../manifest/manifest.js";

/** The root's inode number, as FUSE expects (FUSE_ROOT_ID). */
export const ROOT_INO = 1;
/** `resolve` found no such name. */
export const NOT_FOUND = 0;
/** `resolve` met a file where the path needs a directory. */
export const NOT_A_DIRECTORY = -1;

export interface FsTree {
  /** Nodes (inodes) in the tree, the root included; inode numbers run from 1 to `nodeCount`. */
  readonly nodeCount: number;
  readonly fileCount: number;
  readonly totalBytes: number;
  isDirectory(ino: number): boolean;
  /** The manifest entry of a file inode, or undefined for a directory. */
  entry(ino: number): ManifestEntry | undefined;
  /** A file's size in bytes, or undefined for a directory (no need to read the whole entry). */
  sizeOf(ino: number): number | undefined;
  /** A directory's metadata line (its whole "meta" value), when the manifest has one. */
  dirMeta(ino: number): JsonValue | undefined;
  /** The node's name in its directory ("" for the root). */
  name(ino: number): string;
  /** The parent's inode (the root is its own parent). */
  parent(ino: number): number;
  /** The logical path of a node without a leading "/" ("" for the root). */
  path(ino: number): string;
  /** Children of a directory inode with their names, in name order; none for a file. */
  list(ino: number): { name: string; ino: number }[];
  childCountOf(ino: number): number;
  /** The child inode named `name` in directory `parentIno`, or NOT_FOUND (0). */
  lookup(parentIno: number, name: string): number;
  /** A "/"-separated path to its inode, NOT_FOUND (0) or NOT_A_DIRECTORY (-1). */
  resolve(path: string): number;
}

/** A "/"-separated path (leading "/" optional, as FUSE passes it) to its inode in `tree`, NOT_FOUND or NOT_A_DIRECTORY. */
export function resolvePath(tree: Pick<FsTree, "isDirectory" | "lookup">, path: string): number {
  let ino = ROOT_INO;
  let start = 0;
  while (start <= path.length) {
    let end = path.indexOf("/", start);
    if (end < 0) end = path.length;
    if (end > start) {
      if (!tree.isDirectory(ino)) return NOT_A_DIRECTORY;
      ino = tree.lookup(ino, path.slice(start, end));
      if (ino === NOT_FOUND) return NOT_FOUND;
    }
    start = end + 1;
  }
  return ino;
}
