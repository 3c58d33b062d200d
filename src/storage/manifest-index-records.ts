// The record bodies of the manifest index (manifest-index.ts).
//
// - A file's node is its manifest line (JSON), so the index can be written as the manifest
//   is read, in one pass, and the entry parsed back is the one the manifest holds. File
//   nodes are stored by pages of PAGE_NODES files in walk order (the manifest's order), each
//   node with its own CRC-32, so opening a file reads one small page and checks one node.
// - A directory's node (its path and metadata, kept as the manifest's own JSON text and
//   parsed back with the manifest parser so floats and big integers survive) is a record of
//   its own: there are few.
// - A directory's children are a binary table (names, sizes so that `ls -l` and `find` are
//   answered from it alone, and each file's place among the file nodes), searched by name
//   without decoding it. Inodes are numbered breadth-first, so a directory's children have
//   consecutive inodes from its `first`.
import { crc32 } from "node:zlib";
import { parseJson } from "../manifest/json-parse.js";
import type { JsonValue } from "../manifest/json-value.js";
import type { ManifestEntry } from "../manifest/manifest.js";
import { parseEntry } from "../manifest/manifest-reader.js";
import { entryLine } from "../manifest/manifest-writer.js";
import { manifestJson } from "../manifest/python-json.js";

export interface VersionHeader {
  format: number;
  registry: string;
  name: string;
  topHash: string;
  files: number;
  nodes: number;
  directories: number;
  totalBytes: number;
  /** Entries of size 0 (verified by definition). */
  emptyFiles: number;
  /** Some entry's physical key is in S3 (a local registry's mount then needs the caller's credentials). */
  readsS3: boolean;
}

/** Inodes per node page: a page is read whole (~40 KB) when a file is opened. */
export const PAGE_NODES = 256;
/** A directory's size in a children table (files have their byte count). */
const DIR_MARK = -1;

function jsonText(v: JsonValue | undefined): string | null {
  return v === undefined ? null : manifestJson(v);
}

function fromText(t: string | null): JsonValue | undefined {
  return t === null ? undefined : parseJson(t);
}

export function encodeVersionHeader(h: VersionHeader, userMeta: JsonValue): Buffer {
  return Buffer.from(JSON.stringify({ ...h, userMeta: jsonText(userMeta) }), "utf8");
}

export function decodeVersionHeader(body: Buffer): VersionHeader & { userMeta: JsonValue } {
  const h = JSON.parse(body.toString("utf8")) as VersionHeader & { userMeta: string | null };
  return { ...h, userMeta: fromText(h.userMeta) ?? new Map() };
}

/**
 * A file's node is its manifest line as read (or as the manifest writer prints it), parsed
 * back by the manifest reader: nothing of the entry is lost or reinterpreted.
 */
export function fileNode(e: ManifestEntry): string {
  return entryLine(e);
}

export function directoryNode(path: string, dirMeta: JsonValue | undefined): string {
  return JSON.stringify([path, jsonText(dirMeta)]);
}

export type IndexedNode =
  | { kind: "file"; entry: ManifestEntry }
  | { kind: "directory"; path: string; dirMeta: JsonValue | undefined };

export function decodeFile(text: string): IndexedNode {
  return { kind: "file", entry: parseEntry(text) };
}

export function decodeDirectory(text: string): IndexedNode {
  const [path, meta] = JSON.parse(text) as [string, string | null];
  return { kind: "directory", path, dirMeta: fromText(meta) };
}

/**
 * A page of nodes: u32 count, u32 end offset and u32 CRC-32 of each node, then the nodes'
 * JSON in UTF-8 (each node's bytes as given). A node's CRC covers its inode and text, so a damaged offset or text fails it.
 */
export function encodePage(firstIno: number, nodes: Uint8Array[]): Buffer {
  const head = Buffer.allocUnsafe(4 + 8 * nodes.length);
  head.writeUInt32LE(nodes.length, 0);
  let end = 0;
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i] as Uint8Array;
    end += node.length;
    head.writeUInt32LE(end, 4 + 4 * i);
    head.writeUInt32LE(crc32(node, firstIno + i), 4 + 4 * nodes.length + 4 * i);
  }
  return Buffer.concat([head, ...nodes]);
}

/** Node `slot` of a page as text, or undefined when it fails its CRC or the page's bounds. */
export function pageNode(page: Buffer, firstIno: number, slot: number): string | undefined {
  if (page.length < 4) return undefined;
  const count = page.readUInt32LE(0);
  const base = 4 + 8 * count;
  if (slot >= count || base > page.length) return undefined;
  const start = base + (slot === 0 ? 0 : page.readUInt32LE(4 + 4 * (slot - 1)));
  const end = base + page.readUInt32LE(4 + 4 * slot);
  if (start > end || end > page.length) return undefined;
  const text = page.subarray(start, end);
  if (crc32(text, firstIno + slot) !== page.readUInt32LE(4 + 4 * count + 4 * slot)) return undefined;
  return text.toString("utf8");
}

export interface Child {
  name: string;
  /** Bytes of a file; undefined for a directory. */
  size: number | undefined;
  /** A file's position among the version's files in walk order (its node's place); 0 for a directory. */
  file: number;
}

/**
 * A directory's children in name order: u32 count, u32 name end offsets, f64 sizes (-1: a
 * directory), u32 file positions, UTF-8 names.
 */
export function encodeChildren(children: Child[]): Buffer {
  const names = Buffer.from(children.map((c) => c.name).join(""), "utf8");
  const n = children.length;
  const head = Buffer.allocUnsafe(4 + 16 * n);
  head.writeUInt32LE(n, 0);
  let end = 0;
  children.forEach((c, i) => {
    end += Buffer.byteLength(c.name, "utf8");
    head.writeUInt32LE(end, 4 + 4 * i);
    head.writeDoubleLE(c.size ?? DIR_MARK, 4 + 4 * n + 8 * i);
    head.writeUInt32LE(c.file, 4 + 12 * n + 4 * i);
  });
  return Buffer.concat([head, names]);
}

/**
 * A decoded children table. UTF-8 byte order is code-point order, the order of siblings in
 * the manifest's walk, so a lookup is a binary search over bytes.
 */
export class ChildTable {
  readonly count: number;
  private readonly ends: Uint32Array;
  private readonly sizes: Float64Array;
  private readonly files: Uint32Array;
  private readonly names: Buffer;

  constructor(body: Buffer) {
    this.count = body.readUInt32LE(0);
    // Copied out of the record (which may be unaligned) into arrays the table owns.
    this.ends = new Uint32Array(this.count);
    this.sizes = new Float64Array(this.count);
    this.files = new Uint32Array(this.count);
    for (let i = 0; i < this.count; i++) {
      this.ends[i] = body.readUInt32LE(4 + 4 * i);
      this.sizes[i] = body.readDoubleLE(4 + 4 * this.count + 8 * i);
      this.files[i] = body.readUInt32LE(4 + 12 * this.count + 4 * i);
    }
    this.names = Buffer.from(body.subarray(4 + 16 * this.count));
  }

  /** Bytes this table holds (for the cache's size bound). */
  get bytes(): number {
    return this.names.length + 16 * this.count + 64;
  }

  /** A file child's position among the version's files in walk order (where its node is). */
  file(i: number): number {
    return this.files[i] as number;
  }

  name(i: number): string {
    return this.names.toString("utf8", i === 0 ? 0 : (this.ends[i - 1] as number), this.ends[i] as number);
  }

  /** The child's size in bytes, or undefined for a directory. */
  size(i: number): number | undefined {
    const s = this.sizes[i] as number;
    return s === DIR_MARK ? undefined : s;
  }

  /** The position of the child named `name`, or -1. */
  find(name: string): number {
    const want = Buffer.from(name, "utf8");
    let lo = 0;
    let hi = this.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const start = mid === 0 ? 0 : (this.ends[mid - 1] as number);
      const cmp = this.names.compare(want, 0, want.length, start, this.ends[mid] as number);
      if (cmp === 0) return mid;
      if (cmp < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}
