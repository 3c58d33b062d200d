// statfs(2) of a mount (what df shows): the package's total size, its node count, and no
// free space, since the mount is read-only.
import type { FsTree } from "./tree.js";

export interface StatFs {
  bsize: number;
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  favail: number;
  fsid: number;
  flag: number;
  namemax: number;
}

/** NAME_MAX on Linux: the longest name the kernel passes in a lookup. */
const NAME_MAX = 255;
/** statvfs ST_RDONLY. */
const ST_RDONLY = 1;
/** The widest f_blocks and f_files the binding carries (32 bits). */
const MAX_COUNT = 0xffffffff;

export function statfsOf(tree: FsTree): StatFs {
  // f_blocks is 32 bits wide in the binding: grow the fragment size until it fits.
  let frsize = 4096;
  while (Math.ceil(tree.totalBytes / frsize) > MAX_COUNT) frsize *= 2;
  const files = Math.min(tree.nodeCount, MAX_COUNT);
  return {
    bsize: frsize,
    frsize,
    blocks: Math.ceil(tree.totalBytes / frsize),
    bfree: 0,
    bavail: 0,
    files,
    ffree: 0,
    favail: 0,
    fsid: 0,
    flag: ST_RDONLY,
    namemax: NAME_MAX,
  };
}
