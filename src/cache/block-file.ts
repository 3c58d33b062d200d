// One cached block on disk: a small self-describing header followed by the data. The data
// directory may be shared by several daemons on several hosts (EFS, NFS), so a block file is
// never trusted: every read checks that the header names the block we asked for and that the
// checksum covers header and data. Files are written to a temporary name in the same
// directory and renamed into place, so a reader sees a whole block or none, and a block file
// is never modified after the rename (only deleted). No fsync before the rename: other
// processes (and NFS clients, by close-to-open consistency) see the whole file after it;
// only a power cut can leave a renamed file whose data never reached the disk, and that
// file fails its checksum and is fetched again (docs/RELIABILITY.md).
//
// Layout (big-endian), HEADER_BYTES = 64:
//   0  4  magic "QBLK"
//   4  2  format version (1)
//   6  2  header length (64)
//   8  4  block size of the layout
//  12  4  block index
//  16  8  object size in bytes
//  24  4  data length in bytes
//  28  4  CRC-32 of header bytes [0,28) ++ [32,64) ++ data (zlib.crc32 chained)
//  32 32  content key (raw sha256)
//  64     data
//
// CRC-32 rather than sha256: the checksum guards against torn writes, truncation and bit rot,
// not against an attacker (who could rewrite the checksum too), and whole objects are checked
// against their manifest hash anyway. zlib's CRC-32 runs about twice as fast as sha256 here.
import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import * as zlib from "node:zlib";
import { errnoCode, QuiltError } from "../errors.js";
import { blockLength } from "./block-layout.js";
import { log } from "../log.js";

export const BLOCK_MAGIC = 0x51424c4b; // "QBLK"
/**
 * 2: blocks under a content key hold only bytes that matched their manifest hash (whole, or
 * per chunk), and unverified bytes live under a source key. Version 1 directories may hold
 * unverified bytes under content keys, so they are never read.
 */
export const BLOCK_FORMAT_VERSION = 2;
export const HEADER_BYTES = 64;
const CRC_OFFSET = 28;
const KEY_OFFSET = 32;

export interface BlockHeader {
  blockSize: number;
  index: number;
  objectSize: number;
  dataLength: number;
  key: string;
}

/** Where a layout's blocks live: the block size is part of the name, so daemons that disagree on it never mix blocks. */
export function layoutDir(dataDir: string, blockSize: number): string {
  return join(dataDir, `v${BLOCK_FORMAT_VERSION}-b${blockSize}`);
}

export function objectDir(layout: string, key: string): string {
  return join(layout, key.slice(0, 2), key);
}

export function blockPath(layout: string, key: string, index: number): string {
  return join(objectDir(layout, key), String(index));
}

/** Temporary names start with "." and end with ".tmp" so the reconcile scan can tell them from blocks. */
export function isTempName(name: string): boolean {
  return name.startsWith(".") && name.endsWith(".tmp");
}

function crcFor(header: Buffer, data: Uint8Array): number {
  const crc32 = zlib.crc32;
  let crc = crc32(header.subarray(0, CRC_OFFSET));
  crc = crc32(header.subarray(KEY_OFFSET, HEADER_BYTES), crc);
  return crc32(data, crc);
}

/** zlib.crc32 exists from Node 20.15; fail at open with a clear message rather than mid-read. */
export function assertChecksumSupport(): void {
  if (typeof zlib.crc32 !== "function") {
    throw new QuiltError("EINTERNAL", "this Node.js has no zlib.crc32, needed by the block cache", {
      hint: "use Node.js 20.15 or newer",
    });
  }
}

export function encodeHeader(h: BlockHeader, data: Uint8Array): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32BE(BLOCK_MAGIC, 0);
  header.writeUInt16BE(BLOCK_FORMAT_VERSION, 4);
  header.writeUInt16BE(HEADER_BYTES, 6);
  header.writeUInt32BE(h.blockSize, 8);
  header.writeUInt32BE(h.index, 12);
  header.writeBigUInt64BE(BigInt(h.objectSize), 16);
  header.writeUInt32BE(h.dataLength, 24);
  header.write(h.key, KEY_OFFSET, 32, "hex");
  header.writeUInt32BE(crcFor(header, data), CRC_OFFSET);
  return header;
}

/** Parses a header; undefined when it is not one of ours or is internally inconsistent. */
export function decodeHeader(buf: Buffer): BlockHeader | undefined {
  if (buf.length < HEADER_BYTES) return undefined;
  if (buf.readUInt32BE(0) !== BLOCK_MAGIC) return undefined;
  if (buf.readUInt16BE(4) !== BLOCK_FORMAT_VERSION || buf.readUInt16BE(6) !== HEADER_BYTES) return undefined;
  const objectSize = buf.readBigUInt64BE(16);
  if (objectSize > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  const h: BlockHeader = {
    blockSize: buf.readUInt32BE(8),
    index: buf.readUInt32BE(12),
    objectSize: Number(objectSize),
    dataLength: buf.readUInt32BE(24),
    key: buf.toString("hex", KEY_OFFSET, HEADER_BYTES),
  };
  if (
    h.blockSize === 0 ||
    h.dataLength !== blockLength(h.index, h.objectSize, h.blockSize) ||
    h.dataLength === 0
  ) {
    return undefined;
  }
  return h;
}

export type BlockRead =
  | { status: "ok"; data: Buffer; diskBytes: number }
  | { status: "missing" }
  | { status: "corrupt"; reason: string };

/**
 * Reads and checks one block file against what the caller expects. A corrupt file is reported,
 * not deleted: the caller decides (it also has to fix its index).
 */
export async function readBlockFile(path: string, expect: BlockHeader): Promise<BlockRead> {
  let buf: Buffer;
  try {
    buf = await readExpected(path, HEADER_BYTES + expect.dataLength);
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return { status: "missing" };
    throw err;
  }
  const h = decodeHeader(buf);
  if (!h) return { status: "corrupt", reason: "bad header" };
  if (
    h.key !== expect.key ||
    h.index !== expect.index ||
    h.blockSize !== expect.blockSize ||
    h.objectSize !== expect.objectSize
  ) {
    return { status: "corrupt", reason: "header names another block" };
  }
  if (buf.length !== HEADER_BYTES + h.dataLength)
    return { status: "corrupt", reason: `length ${buf.length}` };
  const data = buf.subarray(HEADER_BYTES);
  if (crcFor(buf, data) !== buf.readUInt32BE(CRC_OFFSET))
    return { status: "corrupt", reason: "checksum mismatch" };
  return { status: "ok", data, diskBytes: buf.length };
}

/**
 * The file's bytes when it has at most `expected` of them, else `expected + 1` bytes (enough
 * to tell it is too long). One read into a buffer of the right size: readFile would fstat,
 * read in 512 KiB pieces and read again to find the end, ~0.15 ms more per 1 MiB block.
 */
async function readExpected(path: string, expected: number): Promise<Buffer> {
  const fh = await open(path, "r");
  try {
    const buf = Buffer.allocUnsafe(expected + 1);
    let filled = 0;
    while (filled < buf.length) {
      const { bytesRead } = await fh.read(buf, filled, buf.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === buf.length ? buf : buf.subarray(0, filled);
  } finally {
    await fh.close();
  }
}

/** Reads only the header (for the reconcile scan, which must not read every byte of the cache). */
export async function readBlockHeader(
  path: string,
): Promise<{ header: BlockHeader | undefined; fileBytes: number } | undefined> {
  let fh;
  try {
    fh = await open(path, "r");
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return undefined;
    throw err;
  }
  try {
    const buf = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await fh.read(buf, 0, HEADER_BYTES, 0);
    const { size } = await fh.stat();
    const header = bytesRead === HEADER_BYTES ? decodeHeader(buf) : undefined;
    return {
      header: header && size === HEADER_BYTES + header.dataLength ? header : undefined,
      fileBytes: size,
    };
  } finally {
    await fh.close();
  }
}

/**
 * Writes a block atomically: temp file in the block's own directory, then rename. The
 * directory is the header's key, except for a private copy of an object (unverified bytes,
 * kept under their source's key, `dirKey`) whose header already names the content key, so
 * that once verified its files are renamed into the content key's directory as they are. Another
 * daemon may write the same block at the same time; both renames put identical bytes in
 * place, so the race is harmless. Returns the bytes the file takes (header + data).
 */
export async function writeBlockFile(
  layout: string,
  h: BlockHeader,
  data: Uint8Array,
  dirKey: string = h.key,
): Promise<number> {
  if (data.length !== h.dataLength)
    throw new QuiltError("EINTERNAL", `block ${h.index}: ${data.length} bytes, header says ${h.dataLength}`);
  const dir = objectDir(layout, dirKey);
  const header = encodeHeader(h, data);
  const tmp = join(dir, `.${h.index}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await open(tmp, "wx");
      try {
        const { bytesWritten } = await fh.writev([header, data]);
        // writev may write less than asked (rare for regular files); finish with plain writes.
        if (bytesWritten < HEADER_BYTES)
          await fh.write(header, bytesWritten, HEADER_BYTES - bytesWritten, bytesWritten);
        const dataDone = Math.max(0, bytesWritten - HEADER_BYTES);
        if (dataDone < data.length)
          await fh.write(data, dataDone, data.length - dataDone, HEADER_BYTES + dataDone);
      } finally {
        await fh.close();
      }
      break;
    } catch (err) {
      // A write that failed half-way (a full disk) must not leave its temp file filling it.
      await unlink(tmp).catch(() => undefined);
      // The directory is created lazily and may be removed by an eviction (ours or another
      // daemon's) between two writes: create it and try once more.
      if (errnoCode(err) !== "ENOENT" || attempt > 0) throw err;
      await mkdir(dir, { recursive: true });
    }
  }
  try {
    await rename(tmp, blockPath(layout, dirKey, h.index));
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  return HEADER_BYTES + data.length;
}

/** Deletes a block file; a file already gone is fine (another daemon may have evicted it). */
export async function removeBlockFile(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if (errnoCode(err) !== "ENOENT") throw err;
  }
}

/**
 * Version 1 layouts may hold unverified bytes under content keys: never read, and deleted in
 * the background so an upgrade does not leave their disk space behind, uncounted.
 */
export async function removeOldLayouts(dataDir: string, blockSize: number): Promise<void> {
  for (let version = 1; version < BLOCK_FORMAT_VERSION; version++) {
    const old = join(dataDir, `v${version}-b${blockSize}`);
    if (!(await stat(old).catch(() => undefined))) continue;
    log().info({ dir: old }, "removing a cache layout of an earlier format");
    await rm(old, { recursive: true, force: true });
  }
}
