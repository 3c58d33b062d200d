// The version a mount serves, as one value (a generation): its tree and what its nodes
// report. A switch to another version makes a new generation whose inode numbers and times
// differ from every earlier one's, so the kernel never mistakes a new node for an old one.
import type { JsonValue } from "../manifest/json-value.js";
import type { Manifest } from "../manifest/manifest.js";
import { InodeTree } from "./inode-tree.js";
import type { FsTree } from "./tree.js";
import type { PackageXattrs } from "./xattrs.js";

/**
 * The version the filesystem serves: its tree and what its nodes report. `switchTo` replaces
 * it whole with one assignment, so every operation (each reads it once, synchronously) sees
 * one version, never a mix; open files keep the entry they opened.
 */
export interface Generation {
  tree: FsTree;
  pkg: PackageXattrs;
  /** Added to tree inode numbers: a switched-to version's nodes never reuse the previous one's numbers. */
  inoBase: number;
  /**
   * The version's time plus the generation in milliseconds: the mtime libfuse's auto_cache
   * compares at each open, so a file whose bytes changed in a switch never keeps the old
   * version's pages, even when both versions were written in the same second with the same size.
   */
  time: Date;
}

/** A version as the filesystem takes it: a parsed manifest (its tree is built in memory) or a tree read from the manifest index. */
export type TreeSource =
  Pick<Manifest, "entries" | "dirMeta" | "userMeta"> | { tree: FsTree; userMeta: JsonValue };

/** The package version's time and top hash (shown as user.quilt.top_hash on the root). */
export interface VersionStamp {
  time: Date;
  topHash?: string;
}

/** st_ino is 32 bits in the binding: inode bases wrap below this. */
const MAX_INO = 0xffffffff;

function treeOf(source: TreeSource): FsTree {
  return "tree" in source ? source.tree : InodeTree.build(source);
}

/** The generation a filesystem starts with: inode numbers as the tree has them, the version's own time. */
export function firstGeneration(source: TreeSource, version: VersionStamp): Generation {
  return {
    tree: treeOf(source),
    pkg: { userMeta: source.userMeta, topHash: version.topHash },
    inoBase: 0,
    time: version.time,
  };
}

/** The generation numbered `generation` that follows `old`, serving `source`. */
export function nextGeneration(
  old: Generation,
  generation: number,
  source: TreeSource,
  version: VersionStamp,
): Generation {
  const tree = treeOf(source);
  let inoBase = old.inoBase + old.tree.nodeCount;
  if (inoBase + tree.nodeCount > MAX_INO) inoBase = 0;
  return {
    tree,
    pkg: { userMeta: source.userMeta, topHash: version.topHash },
    inoBase,
    time: new Date(version.time.getTime() + (generation % 1000)),
  };
}
