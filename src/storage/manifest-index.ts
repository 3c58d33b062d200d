// The manifests of mounted versions, indexed once on local disk (LMDB, under the state
// directory) so that a remount or a daemon restart opens a million-entry version without
// parsing its JSONL again, and a mount holds no JS object per entry: directories and entries
// are read from the index when the kernel asks for them (src/fs/indexed-tree.ts).
//
// Integrity (docs/RELIABILITY.md, "Manifest index"):
// - A version is indexed only from a manifest whose top hash was verified for its registry:
//   `build` checks a Manifest's; a streamed build (manifest-index-build.ts) writes its
//   header record only once the top hash of the lines it wrote matched. It is keyed by
//   sha256(registry identity, name, top hash), the same identity the manifest cache uses, so
//   a manifest from an impostor registry with a real package's top hash never serves a mount
//   of the real registry (the top hash does not cover physical keys).
// - The header record is written last, in the build's last transaction: a build cut short
//   (even by kill -9 between its transactions) leaves no header, so nothing of it is read,
//   and the next build of that version removes what it left.
// - Every record carries a CRC-32 of its key and value. A record damaged on disk (a flipped
//   bit, a truncated page) fails its check: the lookup fails (EIO), and the version is
//   dropped so the next mount indexes it again from the verified manifest. The CRC guards
//   against damage, not against someone who can write the state directory (who could as well
//   change the daemon's mount records or cache index).
//
// The records' layout is in manifest-index-keys.ts, their bodies in manifest-index-records.ts.
import { open, type Database, type RootDatabase } from "lmdb";
import { QuiltError } from "../errors.js";
import type { Manifest } from "../manifest/manifest.js";
import {
  ChildTable,
  PAGE_NODES,
  pageNode,
  type PageCache,
  type VersionHeader,
} from "./manifest-index-records.js";
import {
  ID_BYTES,
  INDEX_FORMAT,
  recordKey,
  TAG_CHILDREN,
  TAG_DIRECTORIES,
  TAG_DIRECTORY_NODE,
  TAG_FILES,
  TAG_HEADER,
  unseal,
  versionKey,
  type VersionId,
} from "./manifest-index-keys.js";
import { VersionWriter } from "./manifest-index-writer.js";
import { DROP_BATCH_RECORDS, hideVersion, removeRecords } from "./manifest-index-drop.js";
import { indexFileBytes, usedPageBytes } from "./manifest-index-size.js";
import {
  headerlessVersions,
  surveyIndex,
  type Headerless,
  type IndexedVersionInfo,
  type IndexSurvey,
} from "./manifest-index-survey.js";

export { INDEX_FORMAT, versionKey, type VersionId } from "./manifest-index-keys.js";

function damaged(what: string): QuiltError {
  return new QuiltError(
    "EBADMANIFEST",
    `The local manifest index has a damaged record (${what}); this version will be indexed again from its manifest at the next mount`,
    {
      hint: "remount the package (quilt unmount, then quilt mount); if it recurs, check the disk holding QUILT_STATE_DIR",
    },
  );
}

export class ManifestIndex {
  /** Versions indexed since open (a remount or restart of an indexed version adds none). */
  builds = 0;
  private readonly usage: Database<number, Buffer>;
  private removeHidden = (vid: Buffer): void => this.removeAll(vid);

  private constructor(
    private readonly db: RootDatabase<Buffer, Buffer>,
    /** Where it is: a build in a worker thread opens it there. */
    readonly dir: string,
  ) {
    this.usage = db.openDB<number, Buffer>("usage", { keyEncoding: "binary", encoding: "json" });
  }

  /** Opens (creating) the index in `dir`, which must be on a local disk (LMDB). */
  static open(dir: string): ManifestIndex {
    return new ManifestIndex(
      open<Buffer, Buffer>({
        path: dir,
        keyEncoding: "binary",
        encoding: "binary",
        noSync: true,
        compression: false,
        // Map the file in chunks for the time a read needs them, not whole: with one mapping,
        // every page a read ever touched (and the kernel's read-around beside it) stayed in
        // the daemon's RSS. 300k entries x 10 versions mounted, listed and one walked: RSS
        // 449 MiB, of which 126 MiB file-backed, against 526 MiB and 201 MiB (bench-million,
        // load ~10). noReadAhead (MDB_NORDAHEAD) beside the chunks changed nothing: 126 MiB
        // file-backed either way at 300k (bench-million, load ~1), so it is not used.
        remapChunks: true,
      }),
      dir,
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
  build(id: VersionId, manifest: Manifest): VersionHeader {
    if (manifest.topHash !== id.topHash) {
      throw new QuiltError(
        "EHASHMISMATCH",
        `Refusing to index a manifest of top hash ${manifest.topHash} as ${id.topHash}`,
      );
    }
    const w = this.writer(id);
    for (const e of manifest.entries) w.add(e);
    for (const [key, meta] of manifest.dirMeta) w.addDirMeta(key, meta);
    const header = w.finish({ userMeta: manifest.userMeta });
    this.builds++;
    return header;
  }

  /** Starts writing version `id` entry by entry (its header last, by `finish`). */
  writer(id: VersionId, pagesPerTransaction?: number): VersionWriter {
    return new VersionWriter(this.db, id, (vid) => this.drop(vid), pagesPerTransaction);
  }

  /** How many records version `id` has (complete or not): for tests of builds cut short. */
  recordCount(id: VersionId): number {
    const vid = versionKey(id);
    return this.db.getKeysCount({ start: vid, end: Buffer.concat([vid, Buffer.from([0xff])]) });
  }

  /** The version's directories as (inode, first child, child count) triples, by inode. */
  directories(vid: Buffer): Uint32Array {
    const body = this.record(vid, TAG_DIRECTORIES, 0);
    if (body === undefined || body.length % 12 !== 0) throw this.damage(vid, "directory list");
    const out = new Uint32Array(body.length / 4);
    for (let i = 0; i < out.length; i++) out[i] = body.readUInt32LE(4 * i);
    return out;
  }

  /** A directory's children table (CRC checked, decoded), or undefined when `ino` is not a directory of the version. */
  children(vid: Buffer, ino: number): ChildTable | undefined {
    const body = this.record(vid, TAG_CHILDREN, ino);
    if (body === undefined) return undefined;
    try {
      return new ChildTable(body);
    } catch (err) {
      // Its CRC matched, so it was written so: by a build of another layout, or a bug.
      if (err instanceof RangeError) throw this.damage(vid, `children of ${ino}`);
      throw err;
    }
  }

  /** The manifest line of the version's `file`-th file in walk order (CRC checked); throws when missing or damaged. */
  fileNode(vid: Buffer, file: number, pages?: PageCache): string {
    const page = Math.floor(file / PAGE_NODES);
    let body = pages?.get(page);
    if (body === undefined) {
      body = this.db.get(recordKey(vid, TAG_FILES, page));
      if (body !== undefined) pages?.set(page, body);
    }
    const text = body === undefined ? undefined : pageNode(body, page * PAGE_NODES, file % PAGE_NODES);
    if (text === undefined) throw this.damage(vid, `file ${file}`);
    return text;
  }

  /** A directory's node: its path and metadata (CRC checked). */
  directoryNode(vid: Buffer, ino: number): string {
    const body = this.record(vid, TAG_DIRECTORY_NODE, ino);
    if (body === undefined) throw this.damage(vid, `directory ${ino}`);
    return body.toString("utf8");
  }

  /** The package's header record body: counts and user metadata. */
  headerBody(vid: Buffer): Buffer | undefined {
    return this.record(vid, TAG_HEADER, 0);
  }

  /** The manifest lines of every file of a version in walk order (CRC checked), for whole-version walks. */
  *files(vid: Buffer, count: number): Generator<string> {
    const pages = new Map<number, Buffer>();
    for (let file = 0; file < count; file++) {
      if (file % PAGE_NODES === 0) pages.clear();
      yield this.fileNode(vid, file, pages);
    }
  }

  /**
   * Forgets a version at once (what a build left, in the build's own thread): hidden, then
   * removed in transactions of DROP_BATCH_RECORDS, this thread blocked throughout (a daemon's
   * drops yield between them: manifest-index-drop.ts). In one transaction a million-entry
   * version fails (LMDB's MDB_TXN_FULL: ~70,000 pages freed) and nothing is removed.
   */
  drop(vid: Buffer): void {
    this.hide(vid);
    this.removeAll(vid);
  }

  /**
   * How a damaged version's records go once hidden (default: at once). A daemon's go in the
   * background (IndexUpkeep): at once, they held its thread ~40 ms for a million entries.
   */
  onDamage(removeHidden: (vid: Buffer) => void): void {
    this.removeHidden = removeHidden;
  }

  /** A drop's first step: see hideVersion. */
  hide(vid: Buffer): void {
    hideVersion(this.db, this.usage, vid);
  }

  /** Removes up to `max` records of version `vid` in one write transaction; returns how many. */
  removeSome(vid: Buffer, max: number): number {
    return removeRecords(this.db, vid, max);
  }

  private removeAll(vid: Buffer): void {
    while (this.removeSome(vid, DROP_BATCH_RECORDS) === DROP_BATCH_RECORDS);
  }

  /** Whether version `vid` has its header record (a complete build: written last). */
  isComplete(vid: Buffer): boolean {
    return this.db.doesExist(recordKey(vid, TAG_HEADER, 0));
  }

  /** What a daemon's start asks of its index: see manifest-index-survey.ts. */
  survey(): IndexSurvey {
    return surveyIndex(this.db, this.usage);
  }

  /** Versions holding records without a header, and how many (read only): see manifest-index-survey.ts. */
  headerless(): Headerless {
    return headerlessVersions(this.db);
  }

  /** Records that a mount opened or let go of the version now (for least-recently-used eviction). */
  touch(vid: Buffer): void {
    this.usage.putSync(vid, Date.now());
  }

  /**
   * The versions with a header (complete builds: a build in progress writes its header last),
   * from the usage records, which every version opened by a mount has (and, after `survey`,
   * every version indexed before usage was recorded).
   */
  versions(): IndexedVersionInfo[] {
    const out: IndexedVersionInfo[] = [];
    for (const { key, value } of this.usage.getRange()) {
      if (key.length === ID_BYTES && this.isComplete(key)) out.push({ vid: Buffer.from(key), usedAt: value });
    }
    return out;
  }

  /** Bytes of the pages holding records now: see manifest-index-size.ts. */
  usedBytes(): number {
    return usedPageBytes(this.db);
  }

  /** The size of the index's file on disk: see manifest-index-size.ts. */
  fileBytes(): number {
    return indexFileBytes(this.dir);
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
    const body = unseal(key, value);
    if (body === undefined)
      throw this.damage(
        vid,
        `${String.fromCharCode(key[ID_BYTES] as number)} ${key.readUInt32BE(ID_BYTES + 1)}`,
      );
    return body;
  }

  /**
   * Drops a version found damaged (the next mount indexes it again) and says so: hidden
   * here, so from now on nothing trusts the rest, which `removeHidden` removes.
   */
  private damage(vid: Buffer, what: string): QuiltError {
    // A mount still reading a version being removed finds a record missing at each read: one
    // write transaction hides it, not one per read.
    if (this.isComplete(vid)) this.hide(vid);
    this.removeHidden(vid);
    return damaged(what);
  }
}
