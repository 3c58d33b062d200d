// The manifests of mounted versions, indexed once on local disk (LMDB, under the state
// directory) so that a remount or a daemon restart opens a million-entry version without
// parsing its JSONL again, and a mount holds no JS object per entry: directories and entries
// are read from the index when the kernel asks for them (src/fs/indexed-tree.ts).
//
// Integrity (docs/RELIABILITY.md, "Manifest index"):
// - A version is indexed only from a Manifest whose top hash was verified for its registry
//   (Registry.loadManifest), and `build` checks the top hash again. It is keyed by
//   sha256(registry identity, name, top hash), the same identity the manifest cache uses, so
//   a manifest from an impostor registry with a real package's top hash never serves a mount
//   of the real registry (the top hash does not cover physical keys).
// - A version is written in one LMDB transaction with its header record last: a build cut
//   short leaves nothing, never half a version.
// - Every record carries a CRC-32 of its key and value. A record damaged on disk (a flipped
//   bit, a truncated page) fails its check: the lookup fails (EIO), and the version is
//   dropped so the next mount indexes it again from the verified manifest. The CRC guards
//   against damage, not against someone who can write the state directory (who could as well
//   change the daemon's mount records or cache index).
//
// Layout: keys are version id (16 bytes) + tag byte + big-endian u32. Inodes are numbered
// breadth-first (they depend only on the manifest), so a directory's children are a run of
// consecutive inodes and a file's size is found in its parent's children table.
//   H            header: counts, flags, package user metadata
//   D            the directories: (inode, first child's inode, child count), by inode
//   C ino        a directory's children in name order: names and sizes
//   P page       the nodes of inodes 1 + page * PAGE_NODES onwards: a file's logical key,
//                size, physical key, hash and meta; a directory's path and metadata
import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import { open, type RootDatabase } from "lmdb";
import { QuiltError } from "../errors.js";
import type { Manifest } from "../manifest/manifest.js";
import type { TopHash } from "../types.js";
import {
  directoryNode,
  encodeChildren,
  encodeVersionHeader,
  encodePage,
  fileNode,
  PAGE_NODES,
  pageNode,
  type VersionHeader,
} from "./manifest-index-records.js";
import { InodeTree, ROOT_INO } from "../fs/inode-tree.js";

/** Bump when a record's layout changes: versions of another format are indexed again. */
export const INDEX_FORMAT = 1;
const ID_BYTES = 16;
const TAG_HEADER = 0x48; // "H"
const TAG_DIRECTORIES = 0x44; // "D"
const TAG_CHILDREN = 0x43; // "C"
const TAG_PAGE = 0x50; // "P"

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

function recordKey(vid: Buffer, tag: number, ino = 0): Buffer {
  const k = Buffer.allocUnsafe(ID_BYTES + 5);
  vid.copy(k, 0);
  k[ID_BYTES] = tag;
  k.writeUInt32BE(ino, ID_BYTES + 1);
  return k;
}

function seal(key: Buffer, body: Buffer): Buffer {
  const v = Buffer.allocUnsafe(4 + body.length);
  v.writeUInt32BE(crc32(body, crc32(key)), 0);
  body.copy(v, 4);
  return v;
}

export function damaged(what: string): QuiltError {
  return new QuiltError(
    "EBADMANIFEST",
    `The local manifest index has a damaged record (${what}); this version will be indexed again from its manifest at the next mount`,
    {
      hint: "remount the package (quilt unmount, then quilt mount); if it recurs, check the disk holding QUILT_STATE_DIR",
    },
  );
}

/** Where `node` keeps pages it read, for the next node of the same page. */
export interface PageCache {
  get(page: number): Buffer | undefined;
  set(page: number, body: Buffer): unknown;
}

export class ManifestIndex {
  /** Versions indexed since open (a remount or restart of an indexed version adds none). */
  builds = 0;

  private constructor(private readonly db: RootDatabase<Buffer, Buffer>) {}

  /** Opens (creating) the index in `dir`, which must be on a local disk (LMDB). */
  static open(dir: string): ManifestIndex {
    return new ManifestIndex(
      open<Buffer, Buffer>({
        path: dir,
        keyEncoding: "binary",
        encoding: "binary",
        noSync: true,
        compression: false,
      }),
    );
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  /** The version's header, or undefined when it is not indexed (or of another format, or damaged). */
  header(id: VersionId): VersionHeader | undefined {
    const vid = versionKey(id);
    const body = this.record(vid, TAG_HEADER, 0, true);
    if (body === undefined) return undefined;
    const h = JSON.parse(body.toString("utf8")) as VersionHeader;
    // A 128-bit id could only collide by accident; the header says what it was built for.
    if (
      h.format !== INDEX_FORMAT ||
      h.registry !== id.registry ||
      h.name !== id.name ||
      h.topHash !== id.topHash
    )
      return undefined;
    return h;
  }

  /**
   * Indexes a verified manifest. Throws EHASHMISMATCH when `manifest` is not the version
   * named by `id` (only verified manifests may be indexed).
   */
  build(id: VersionId, manifest: Manifest, readsS3: boolean): VersionHeader {
    if (manifest.topHash !== id.topHash) {
      throw new QuiltError(
        "EHASHMISMATCH",
        `Refusing to index a manifest of top hash ${manifest.topHash} as ${id.topHash}`,
      );
    }
    const vid = versionKey(id);
    const tree = InodeTree.build(manifest);
    const { order, newOf, dirs } = breadthFirst(tree);
    const header: VersionHeader = {
      format: INDEX_FORMAT,
      registry: id.registry,
      name: id.name,
      topHash: id.topHash,
      files: tree.fileCount,
      nodes: tree.nodeCount,
      directories: dirs.length / 3,
      totalBytes: tree.totalBytes,
      emptyFiles: manifest.entries.reduce((n, e) => n + (e.size === 0 ? 1 : 0), 0),
      readsS3,
    };
    const put = (key: Buffer, body: Buffer) => this.db.put(key, seal(key, body));
    this.db.transactionSync(() => {
      this.removeVersion(vid);
      const list = Buffer.allocUnsafe(4 * dirs.length);
      dirs.forEach((v, i) => list.writeUInt32LE(v, 4 * i));
      put(recordKey(vid, TAG_DIRECTORIES), list);
      for (let d = 0; d < dirs.length; d += 3) {
        const children: { name: string; size: number | undefined }[] = [];
        for (let c = dirs[d + 1] as number, end = c + (dirs[d + 2] as number); c < end; c++) {
          const old = order[c] as number;
          children.push({ name: tree.name(old), size: tree.entry(old)?.size });
        }
        put(recordKey(vid, TAG_CHILDREN, dirs[d] as number), encodeChildren(children));
      }
      for (let page = 0; page * PAGE_NODES < tree.nodeCount; page++) {
        const first = 1 + page * PAGE_NODES;
        const nodes: string[] = [];
        for (let ino = first; ino < first + PAGE_NODES && ino <= tree.nodeCount; ino++) {
          const old = order[ino] as number;
          const parent = newOf[tree.parent(old)] as number;
          const entry = tree.entry(old);
          nodes.push(
            entry !== undefined
              ? fileNode(parent, entry)
              : directoryNode(parent, tree.path(old), tree.dirMeta(old)),
          );
        }
        // Nodes carry their own CRCs (checked one at a time): the page is stored as is.
        this.db.put(recordKey(vid, TAG_PAGE, page), encodePage(first, nodes));
      }
      put(recordKey(vid, TAG_HEADER), encodeVersionHeader(header, manifest.userMeta));
    });
    this.builds++;
    return header;
  }

  /** The version's directories as (inode, first child, child count) triples, by inode. */
  directories(vid: Buffer): Uint32Array {
    const body = this.record(vid, TAG_DIRECTORIES, 0);
    if (body === undefined || body.length % 12 !== 0) throw this.damage(vid, "directory list");
    const out = new Uint32Array(body.length / 4);
    for (let i = 0; i < out.length; i++) out[i] = body.readUInt32LE(4 * i);
    return out;
  }

  /** A directory's children table (CRC checked), or undefined when `ino` is not a directory of the version. */
  children(vid: Buffer, ino: number): Buffer | undefined {
    return this.record(vid, TAG_CHILDREN, ino);
  }

  /** The text of node `ino` (CRC checked); throws when it is missing or damaged. */
  node(vid: Buffer, ino: number, pages?: PageCache): string {
    const page = Math.floor((ino - 1) / PAGE_NODES);
    let body = pages?.get(page);
    if (body === undefined) {
      body = this.db.get(recordKey(vid, TAG_PAGE, page));
      if (body !== undefined) pages?.set(page, body);
    }
    const text =
      body === undefined ? undefined : pageNode(body, 1 + page * PAGE_NODES, (ino - 1) % PAGE_NODES);
    if (text === undefined) throw this.damage(vid, `node ${ino}`);
    return text;
  }

  /** The package's header record body: counts and user metadata. */
  headerBody(vid: Buffer): Buffer | undefined {
    return this.record(vid, TAG_HEADER, 0);
  }

  /** Every node of a version in inode order (CRC checked), for whole-version walks. */
  *nodes(vid: Buffer, count: number): Generator<{ ino: number; text: string }> {
    const pages = new Map<number, Buffer>();
    for (let ino = 1; ino <= count; ino++) {
      if ((ino - 1) % PAGE_NODES === 0) pages.clear();
      yield { ino, text: this.node(vid, ino, pages) };
    }
  }

  /** Forgets a version (a damaged one is indexed again at its next mount). */
  drop(vid: Buffer): void {
    this.db.transactionSync(() => this.removeVersion(vid));
  }

  private removeVersion(vid: Buffer): void {
    const end = Buffer.concat([vid, Buffer.from([0xff])]);
    for (const key of this.db.getKeys({ start: vid, end })) this.db.remove(key);
  }

  private record(vid: Buffer, tag: number, ino: number, quiet = false): Buffer | undefined {
    const key = recordKey(vid, tag, ino);
    const value = this.db.get(key);
    if (value === undefined) return undefined;
    try {
      return this.check(key, value, vid);
    } catch (err) {
      if (quiet) return undefined;
      throw err;
    }
  }

  private check(key: Buffer, value: Buffer, vid: Buffer): Buffer {
    if (value.length < 4 || value.readUInt32BE(0) !== crc32(value.subarray(4), crc32(key))) {
      throw this.damage(
        vid,
        `${String.fromCharCode(key[ID_BYTES] as number)} ${key.readUInt32BE(ID_BYTES + 1)}`,
      );
    }
    return value.subarray(4);
  }

  /** Drops a version found damaged (the next mount indexes it again) and says so. */
  private damage(vid: Buffer, what: string): QuiltError {
    this.drop(vid);
    return damaged(what);
  }
}

/**
 * Numbers the tree's nodes breadth-first: each directory's children get consecutive
 * inodes, in name order. Returns new inode -> old, old -> new, and (ino, first, count) of
 * each directory in inode order.
 */
function breadthFirst(tree: InodeTree): { order: Uint32Array; newOf: Uint32Array; dirs: Uint32Array } {
  const n = tree.nodeCount;
  const order = new Uint32Array(n + 1);
  const newOf = new Uint32Array(n + 1);
  order[1] = ROOT_INO;
  newOf[ROOT_INO] = 1;
  const dirs: number[] = [];
  let next = 2;
  for (let q = 1; q < next; q++) {
    const old = order[q] as number;
    if (!tree.isDirectory(old)) continue;
    const first = next;
    for (const c of tree.children(old)) {
      order[next] = c;
      newOf[c] = next++;
    }
    dirs.push(q, first, next - first);
  }
  return { order, newOf, dirs: Uint32Array.from(dirs) };
}
