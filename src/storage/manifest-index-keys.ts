// The keys of the manifest index (manifest-index.ts) and the CRC seal of its records,
// shared by its reader and its writer (manifest-index-writer.ts).
//
// Keys are version id (16 bytes) + tag byte + big-endian u32. Inodes are numbered
// breadth-first (they depend only on the manifest), so a directory's children are a run of
// consecutive inodes and a file's size is found in its parent's children table.
//   H            header: counts, flags, package user metadata
//   D            the directories: (inode, first child's inode, child count), by inode
//   C ino        a directory's children in name order: names, sizes, file positions
//   N ino        a directory's path and metadata
//   F page       the file nodes (manifest lines) of files page * PAGE_NODES onwards, in walk order
// and, in the named database "usage", when each version was last opened or let go of by a
// mount (the order in which manifest-index-eviction.ts drops versions no mount uses).
import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import type { TopHash } from "../types.js";

/** Bump when a record's layout changes: versions of another format are indexed again. */
export const INDEX_FORMAT = 3;
export const ID_BYTES = 16;
export const TAG_HEADER = 0x48; // "H"
export const TAG_DIRECTORIES = 0x44; // "D"
export const TAG_CHILDREN = 0x43; // "C"
export const TAG_FILES = 0x46; // "F"
export const TAG_DIRECTORY_NODE = 0x4e; // "N"

export interface VersionId {
  /** The registry's identity (Stores.registryIdentity: its URL and, for S3, the endpoint). */
  registry: string;
  name: string;
  topHash: TopHash;
}

export function versionKey(id: VersionId): Buffer {
  return createHash("sha256")
    .update(`${id.registry}\n${id.name}\n${id.topHash}`, "utf8")
    .digest()
    .subarray(0, ID_BYTES);
}

export function recordKey(vid: Buffer, tag: number, n = 0): Buffer {
  const k = Buffer.allocUnsafe(ID_BYTES + 5);
  vid.copy(k, 0);
  k[ID_BYTES] = tag;
  k.writeUInt32BE(n, ID_BYTES + 1);
  return k;
}

/** The record's value: a CRC-32 of its key and body, then the body. */
export function seal(key: Buffer, body: Buffer): Buffer {
  const v = Buffer.allocUnsafe(4 + body.length);
  v.writeUInt32BE(crc32(body, crc32(key)), 0);
  body.copy(v, 4);
  return v;
}

/** A sealed record's body, or undefined when it fails its CRC. */
export function unseal(key: Buffer, value: Buffer): Buffer | undefined {
  return value.length < 4 || value.readUInt32BE(0) !== crc32(value.subarray(4), crc32(key))
    ? undefined
    : value.subarray(4);
}
