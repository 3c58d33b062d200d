// Writes one version into the manifest index (manifest-index.ts) as its entries come, so a
// manifest of a million entries is indexed in one pass over its lines without being held:
// each file's node (its manifest line) goes into a page as it is read, pages are written in
// large LMDB transactions, and only each file's logical key and size are kept to build the
// directory tree at the end.
//
// Nothing written is trusted before `finish`: the header record, written last and only
// once the caller has checked the top hash, is what makes a version visible
// (ManifestIndex.header). A build cut short (an error, a crash, kill -9) leaves records
// without a header, which no lookup reads and the next build of the version removes first.
import type { RootDatabase } from "lmdb";
import { InodeTree, ROOT_INO } from "../fs/inode-tree.js";
import type { JsonValue } from "../manifest/json-value.js";
import { Manifest, type ManifestEntry } from "../manifest/manifest.js";
import { CompactEntry } from "../manifest/compact-entry.js";
import type { LogicalKey } from "../types.js";
import {
  INDEX_FORMAT,
  recordKey,
  seal,
  TAG_CHILDREN,
  TAG_DIRECTORIES,
  TAG_DIRECTORY_NODE,
  TAG_FILES,
  TAG_HEADER,
  versionKey,
  type VersionId,
} from "./manifest-index-keys.js";
import {
  directoryNode,
  encodeChildren,
  encodeVersionHeader,
  encodePage,
  fileNode,
  PAGE_NODES,
  type Child,
  type VersionHeader,
} from "./manifest-index-records.js";

/** Pages per write transaction (~10 MB): few commits, and a bounded batch in memory. */
const PAGES_PER_TRANSACTION = 256;

/**
 * File entries parsed elsewhere (manifest-index-segment.ts), in the manifest's order: each
 * one's key, size, line number, and node (its manifest line) as `bytes[starts[i], ends[i])`.
 */
export interface ParsedFiles {
  keys: string[];
  sizes: Float64Array;
  lines: Uint32Array;
  bytes: Uint8Array;
  starts: Uint32Array;
  ends: Uint32Array;
  /** Some entry's physical key is in S3. */
  readsS3: boolean;
}

/** Whether reading the entry's bytes needs S3 (a local registry's mount then needs the caller's credentials). */
export function entryReadsS3(entry: ManifestEntry): boolean {
  return entry instanceof CompactEntry ? entry.url.startsWith("s3://") : entry.physicalKey.bucket !== null;
}

/** What the tree is built from: a file's key, its size and where its node is. */
interface FileRef {
  readonly logicalKey: ManifestEntry["logicalKey"];
  readonly size: number;
  readonly file: number;
}

export class VersionWriter {
  private readonly vid: Buffer;
  private readonly files: FileRef[] = [];
  private readonly lines: number[] = [];
  private readonly dirMeta = new Map<string, JsonValue>();
  private page: Uint8Array[] = [];
  private pages: [Buffer, Buffer][] = [];
  private readsS3 = false;
  private tree: InodeTree | undefined;
  private emptyFiles = 0;

  /** Starts a version: records left by an earlier build that did not finish are removed first. */
  constructor(
    private readonly db: RootDatabase<Buffer, Buffer>,
    private readonly id: VersionId,
    private readonly remove: (vid: Buffer) => void,
    /** Pages per write transaction (tests make it small, to be cut between transactions). */
    private readonly pagesPerTransaction = PAGES_PER_TRANSACTION,
  ) {
    this.vid = versionKey(id);
    remove(this.vid);
  }

  /** A file entry, in the manifest's order. */
  add(entry: ManifestEntry): void {
    this.addFile(entry.logicalKey, entry.size, Buffer.from(fileNode(entry), "utf8"));
    if (!this.readsS3) this.readsS3 = entryReadsS3(entry);
  }

  /** File entries read from a manifest's lines, in its order, each with its line (its node as read). */
  addParsed(files: ParsedFiles): void {
    const { keys, sizes, lines, bytes, starts, ends } = files;
    for (let i = 0; i < keys.length; i++) {
      this.lines.push(lines[i] as number);
      this.addFile(keys[i] as LogicalKey, sizes[i] as number, bytes.subarray(starts[i], ends[i]));
    }
    if (files.readsS3) this.readsS3 = true;
  }

  private addFile(logicalKey: LogicalKey, size: number, node: Uint8Array): void {
    this.files.push({ logicalKey, size, file: this.files.length });
    if (size === 0) this.emptyFiles++;
    this.page.push(node);
    if (this.page.length === PAGE_NODES) this.endPage();
  }

  addDirMeta(key: string, meta: JsonValue): void {
    this.dirMeta.set(key, meta);
  }

  /**
   * Checks the whole (no duplicate key, no file that is also a directory) and builds its
   * tree; throws EBADMANIFEST with the lines at fault.
   */
  check(): InodeTree {
    if (this.tree) return this.tree;
    this.endPage();
    this.commit();
    // Manifest.create checks (and, for a manifest out of walk order, sorts) the keys.
    const lineOf = (key: string) =>
      this.files.flatMap((f) => (f.logicalKey === key ? [this.lines[f.file] as number] : []));
    const walk = Manifest.create(
      { header: new Map(), dirMeta: this.dirMeta, entries: this.files as unknown as ManifestEntry[] },
      this.lines.length === this.files.length ? lineOf : undefined,
    );
    this.tree = InodeTree.build(walk);
    return this.tree;
  }

  /** Writes the tree and then the header: call it only once the top hash matched. */
  finish(header: { userMeta: JsonValue }): VersionHeader {
    const tree = this.check();
    const { order, dirs } = breadthFirst(tree);
    const put = (key: Buffer, body: Buffer) => this.db.put(key, seal(key, body));
    const result: VersionHeader = {
      format: INDEX_FORMAT,
      registry: this.id.registry,
      name: this.id.name,
      topHash: this.id.topHash,
      files: tree.fileCount,
      nodes: tree.nodeCount,
      directories: dirs.length / 3,
      totalBytes: tree.totalBytes,
      emptyFiles: this.emptyFiles,
      readsS3: this.readsS3,
    };
    this.db.transactionSync(() => {
      const list = Buffer.allocUnsafe(4 * dirs.length);
      dirs.forEach((v, i) => list.writeUInt32LE(v, 4 * i));
      put(recordKey(this.vid, TAG_DIRECTORIES), list);
      for (let d = 0; d < dirs.length; d += 3) {
        const ino = dirs[d] as number;
        const old = order[ino] as number;
        put(
          recordKey(this.vid, TAG_DIRECTORY_NODE, ino),
          Buffer.from(directoryNode(tree.path(old), tree.dirMeta(old)), "utf8"),
        );
        const children: Child[] = [];
        for (let c = dirs[d + 1] as number, end = c + (dirs[d + 2] as number); c < end; c++) {
          const child = order[c] as number;
          const f = tree.entry(child) as FileRef | undefined;
          children.push({ name: tree.name(child), size: f?.size, file: f?.file ?? 0 });
        }
        put(recordKey(this.vid, TAG_CHILDREN, ino), encodeChildren(children));
      }
      put(recordKey(this.vid, TAG_HEADER), encodeVersionHeader(result, header.userMeta));
    });
    return result;
  }

  /** Forgets what was written (the top hash did not match, or the manifest was refused). */
  abandon(): void {
    this.remove(this.vid);
  }

  private endPage(): void {
    if (this.page.length === 0) return;
    const first = this.files.length - this.page.length;
    // Nodes carry their own CRCs (checked one at a time): the page is stored as is.
    this.pages.push([recordKey(this.vid, TAG_FILES, first / PAGE_NODES), encodePage(first, this.page)]);
    this.page = [];
    if (this.pages.length >= this.pagesPerTransaction) this.commit();
  }

  private commit(): void {
    const pages = this.pages;
    this.pages = [];
    if (pages.length) this.db.transactionSync(() => pages.forEach(([k, v]) => this.db.put(k, v)));
  }
}

/**
 * Numbers the tree's nodes breadth-first: each directory's children get consecutive
 * inodes, in name order. Returns new inode -> old, and (ino, first, count) of each
 * directory in inode order.
 */
function breadthFirst(tree: InodeTree): { order: Uint32Array; dirs: Uint32Array } {
  const n = tree.nodeCount;
  const order = new Uint32Array(n + 1);
  order[1] = ROOT_INO;
  const dirs: number[] = [];
  let next = 2;
  for (let q = 1; q < next; q++) {
    const old = order[q] as number;
    if (!tree.isDirectory(old)) continue;
    const first = next;
    for (const c of tree.children(old)) order[next++] = c;
    dirs.push(q, first, next - first);
  }
  return { order, dirs: Uint32Array.from(dirs) };
}
