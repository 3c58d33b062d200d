// The record bodies of the manifest index (manifest-index.ts).
//
// - A node (a file's entry, a directory's path and metadata) is a JSON array of plain
//   strings and numbers (JSON.parse restores them exactly); metadata stays the manifest's
//   own JSON text, parsed back with the manifest parser so floats and big integers survive.
//   Nodes are stored by pages of PAGE_NODES consecutive inodes, each node with its own
//   CRC-32, so opening a file reads one small page and checks one node.
// - A directory's children are a binary table (names, and sizes so that `ls -l` and `find`
//   are answered from it alone), searched by name without decoding it. Inodes are numbered
//   breadth-first, so a directory's children have consecutive inodes from its `first`.
import { crc32 } from "node:zlib";
import { CompactEntry, EMPTY_META } from "../manifest/compact-entry.js";
import { parseJson } from "../manifest/json-parse.js";
import type { JsonObject, JsonValue } from "../manifest/json-value.js";
import type { ManifestEntry } from "../manifest/manifest.js";
import { PhysicalKey } from "../manifest/physical-key.js";
import { manifestJson } from "../manifest/python-json.js";
import type { LogicalKey } from "../types.js";

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
const FILE = 0;
const DIRECTORY = 1;
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

/** The usual {"type","value"} hash travels as two strings; any other shape as its JSON. */
function plainHash(e: ManifestEntry): [string, string] | undefined {
  if (e instanceof CompactEntry) return [e.hashType, e.hashValue];
  const keys = [...e.hash.keys()];
  const type = e.hash.get("type");
  const value = e.hash.get("value");
  return keys.length === 2 && keys[0] === "type" && typeof type === "string" && typeof value === "string"
    ? [type, value]
    : undefined;
}

export function fileNode(parent: number, e: ManifestEntry): string {
  const url = e instanceof CompactEntry ? e.url : e.physicalKey.toString();
  const plain = plainHash(e);
  const meta = e.meta.size === 0 ? null : jsonText(e.meta);
  return JSON.stringify([
    FILE,
    parent,
    e.logicalKey,
    e.size,
    url,
    plain?.[0] ?? "",
    plain?.[1] ?? "",
    plain ? null : jsonText(e.hash),
    meta,
  ]);
}

export function directoryNode(parent: number, path: string, dirMeta: JsonValue | undefined): string {
  return JSON.stringify([DIRECTORY, parent, path, jsonText(dirMeta)]);
}

export type IndexedNode =
  | { kind: "file"; parent: number; entry: ManifestEntry }
  | { kind: "directory"; parent: number; path: string; dirMeta: JsonValue | undefined };

export function decodeNode(text: string): IndexedNode {
  const r = JSON.parse(text) as unknown[];
  if (r[0] === DIRECTORY)
    return {
      kind: "directory",
      parent: r[1] as number,
      path: r[2] as string,
      dirMeta: fromText(r[3] as string | null),
    };
  const [, parent, key, size, url, type, value, hash, meta] = r as [
    number,
    number,
    LogicalKey,
    number,
    string,
    string,
    string,
    string | null,
    string | null,
  ];
  const m = meta === null ? EMPTY_META : (parseJson(meta) as JsonObject);
  const entry: ManifestEntry =
    hash === null
      ? new CompactEntry(key, url, size, type, value, m)
      : {
          logicalKey: key,
          physicalKey: PhysicalKey.fromUrl(url),
          size,
          hash: parseJson(hash) as JsonObject,
          meta: m,
        };
  return { kind: "file", parent, entry };
}

/**
 * A page of nodes: u32 count, u32 end offset and u32 CRC-32 of each node, then the nodes'
 * JSON in UTF-8. A node's CRC covers its inode and text, so a damaged offset or text fails it.
 */
export function encodePage(firstIno: number, nodes: string[]): Buffer {
  const texts = Buffer.from(nodes.join(""), "utf8");
  const head = Buffer.allocUnsafe(4 + 8 * nodes.length);
  head.writeUInt32LE(nodes.length, 0);
  let end = 0;
  for (let i = 0; i < nodes.length; i++) {
    const len = Buffer.byteLength(nodes[i] as string, "utf8");
    head.writeUInt32LE(end + len, 4 + 4 * i);
    head.writeUInt32LE(crc32(texts.subarray(end, end + len), firstIno + i), 4 + 4 * nodes.length + 4 * i);
    end += len;
  }
  return Buffer.concat([head, texts]);
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

/** A directory's children in name order: u32 count, u32 name end offsets, f64 sizes (-1: a directory), UTF-8 names. */
export function encodeChildren(children: { name: string; size: number | undefined }[]): Buffer {
  const names = Buffer.from(children.map((c) => c.name).join(""), "utf8");
  const n = children.length;
  const head = Buffer.allocUnsafe(4 + 12 * n);
  head.writeUInt32LE(n, 0);
  let end = 0;
  children.forEach((c, i) => {
    end += Buffer.byteLength(c.name, "utf8");
    head.writeUInt32LE(end, 4 + 4 * i);
    head.writeDoubleLE(c.size ?? DIR_MARK, 4 + 4 * n + 8 * i);
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
  private readonly names: Buffer;

  constructor(body: Buffer) {
    this.count = body.readUInt32LE(0);
    // Copied out of the record (which may be unaligned) into arrays the table owns.
    this.ends = new Uint32Array(this.count);
    this.sizes = new Float64Array(this.count);
    for (let i = 0; i < this.count; i++) {
      this.ends[i] = body.readUInt32LE(4 + 4 * i);
      this.sizes[i] = body.readDoubleLE(4 + 4 * this.count + 8 * i);
    }
    this.names = Buffer.from(body.subarray(4 + 12 * this.count));
  }

  /** Bytes this table holds (for the cache's size bound). */
  get bytes(): number {
    return this.names.length + 12 * this.count + 64;
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
