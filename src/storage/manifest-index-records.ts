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
import { ByteReader, ByteWriter, unzigzag, zigzag } from "./varint-bytes.js";

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

/** Where a reader of file nodes keeps pages it read, for the next node of the same page. */
export interface PageCache {
  get(page: number): Buffer | undefined;
  set(page: number, body: Buffer): unknown;
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
 * A directory's children in name order: u32 count, then per child three varints and bytes:
 * the bytes its name shares with the previous name, the length of the rest and the rest; 0
 * for a directory or 1 + its size for a file; and, for a file, the zigzag difference of its
 * file position from the previous file's. Fixed widths (u32 name ends, f64 sizes, u32 file
 * positions: 16 bytes a child before its name) cost 28 bytes a child of names like
 * f0000123.bin; this costs about 10. The table is read whole into the arrays below either
 * way, so the smaller record only shrinks what the index maps: a `find` over ten
 * million-entry versions mapped 210 MiB of children tables into the daemon, 83 MiB with this
 * layout (bench-million, 2026-12-05).
 */
export function encodeChildren(children: Child[]): Buffer {
  const out = new ByteWriter(8 + 12 * children.length);
  out.u32(children.length);
  let prev = Buffer.alloc(0);
  let prevFile = 0;
  for (const c of children) {
    const name = Buffer.from(c.name, "utf8");
    const shared = sharedPrefix(prev, name);
    out.varint(shared);
    out.varint(name.length - shared);
    out.bytes(name.subarray(shared));
    if (c.size === undefined) out.varint(0);
    else {
      out.varint(c.size + 1);
      out.varint(zigzag(c.file - prevFile));
      prevFile = c.file;
    }
    prev = name;
  }
  return out.done();
}

function sharedPrefix(a: Buffer, b: Buffer): number {
  const max = Math.min(a.length, b.length);
  let i = 0;
  while (i < max && a[i] === b[i]) i++;
  return i;
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

  /** Throws RangeError when `body` does not parse (its CRC matched: written by another format or a bug). */
  constructor(body: Buffer) {
    const r = new ByteReader(body);
    const count = r.u32();
    // Each child takes at least 3 bytes: a bound before allocating for a count read from disk.
    if (count > body.length / 3) throw new RangeError("children table count past its length");
    this.count = count;
    this.ends = new Uint32Array(count);
    this.sizes = new Float64Array(count);
    this.files = new Uint32Array(count);
    // Names are rebuilt whole (each from the bytes it shares with the one before and its
    // own), so the buffer starts at twice the body and grows as needed.
    let names = Buffer.allocUnsafe(2 * body.length + 64);
    let start = 0; // of the previous name
    let end = 0;
    let file = 0;
    for (let i = 0; i < count; i++) {
      const shared = r.varint();
      const rest = r.varint();
      if (shared > end - start) throw new RangeError("children table name shares more than its neighbour");
      r.need(rest);
      if (end + shared + rest > names.length) {
        const grown = Buffer.allocUnsafe(2 * (end + shared + rest));
        names.copy(grown, 0, 0, end);
        names = grown;
      }
      // Byte loops: names are short, and a Buffer.copy call costs more than the bytes.
      for (let k = 0; k < shared; k++) names[end + k] = names[start + k] as number;
      for (let k = 0; k < rest; k++) names[end + shared + k] = body[r.at + k] as number;
      r.at += rest;
      start = end;
      end += shared + rest;
      this.ends[i] = end;
      const size = r.varint();
      if (size === 0) this.sizes[i] = DIR_MARK;
      else {
        this.sizes[i] = size - 1;
        file += unzigzag(r.varint());
        this.files[i] = file;
      }
    }
    if (r.at !== body.length) throw new RangeError("children table longer than its children");
    this.names = Buffer.from(names.subarray(0, end));
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
