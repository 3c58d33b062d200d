// What a node of the mount reports about itself (stat(2)'s fields and a listing's types).
// Every node is read-only and owned by the mounting user, with the package version's time;
// only a file's size, and whether its bytes failed verification, differ from node to node.
import { constants as fsConstants } from "node:fs";

export interface Attr {
  ino: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  size: number;
  blocks: number;
  blksize: number;
  atime: Date;
  mtime: Date;
  ctime: Date;
}

export interface DirEntry {
  name: string;
  attr: Attr;
}

/** The mounting user, owner of every node. */
export interface NodeOwner {
  uid: number;
  gid: number;
}

/**
 * The mtime of a file whose bytes failed verification: any value other than the version's
 * time makes libfuse's auto_cache drop the file's page cache on its next open.
 */
const FAILED_MTIME = new Date(0);

/** st_blksize, the I/O size programs like cp use: one FUSE read request (128 KiB). */
export const PREFERRED_IO_BYTES = 128 * 1024;
/** Every directory's mode: read-only, searchable. */
export const DIR_MODE = fsConstants.S_IFDIR | 0o555;
/** Every file's mode: read-only. */
export const FILE_MODE = fsConstants.S_IFREG | 0o444;
/** A directory's st_size, as ext4 and s3fs report it; nothing reads it. */
const DIR_SIZE = 4096;

export function directoryAttr(ino: number, { uid, gid }: NodeOwner, time: Date): Attr {
  // nlink 1 tells find(1) the subdirectory count is unknown, so it does not skip any.
  return {
    ino,
    mode: DIR_MODE,
    nlink: 1,
    uid,
    gid,
    size: DIR_SIZE,
    blocks: 0,
    blksize: PREFERRED_IO_BYTES,
    atime: time,
    mtime: time,
    ctime: time,
  };
}

/** A file's attributes; `failed` (its bytes failed verification) shows as a sentinel mtime. */
export function fileAttr(
  ino: number,
  size: number,
  { uid, gid }: NodeOwner,
  time: Date,
  failed: boolean,
): Attr {
  return {
    ino,
    mode: FILE_MODE,
    nlink: 1,
    uid,
    gid,
    size,
    blocks: Math.ceil(size / 512),
    blksize: PREFERRED_IO_BYTES,
    atime: time,
    mtime: failed ? FAILED_MTIME : time,
    ctime: time,
  };
}
