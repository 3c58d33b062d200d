// The filesystem core: every FUSE operation as an async function over the inode tree and
// an EntryReader, answering data or throwing FsError with an errno name. It knows no FUSE
// binding and no storage, so it is tested without a kernel mount and the thin shell in
// fuse-mount.ts and fuse-operations.ts only translates. Metadata operations (getattr,
// lookup, readdir, xattrs, statfs) are answered from the tree and never fetch bytes:
// `open`, `read` and `release` call the reader (a handle, then bytes), and a file's
// attributes ask it only whether that entry already failed verification (shown as a
// sentinel mtime).
import { log } from "../log.js";
import type { ManifestEntry } from "../manifest/manifest.js";
import type { EntryReader } from "./entry-reader.js";
import { FsError, readErrno } from "./fs-errors.js";
import {
  firstGeneration,
  nextGeneration,
  type Generation,
  type TreeSource,
  type VersionStamp,
} from "./generation.js";
import { NOT_A_DIRECTORY, NOT_FOUND } from "./inode-tree.js";
import { DirListing } from "./dir-listing.js";
import { directoryAttr, fileAttr, type Attr, type DirEntry } from "./node-attrs.js";
import { OpenFiles } from "./open-files.js";
import { READ_TIMEOUT_MS, withDeadline } from "./read-deadline.js";
import { opensForWriting, type MutatingOp } from "./read-only.js";
import { statfsOf, type StatFs } from "./statfs.js";
import type { FsTree } from "./tree.js";
import { isUnsupportedNamespace, XATTR_SIZE_MAX, xattrNames, xattrText } from "./xattrs.js";

export interface FilesystemOptions {
  /** Owner of every node: the mounting user. */
  uid: number;
  gid: number;
  /** The package version's time, given to every node as atime, mtime and ctime. */
  time: Date;
  /** Shown as user.quilt.top_hash on the root. */
  topHash?: string;
  /** Deadline for one read in ms (ETIMEDOUT past it); default READ_TIMEOUT_MS. */
  readTimeoutMs?: number;
  /**
   * The last handle of `path` opened before a switch was released. The kernel keeps the
   * dentries of files open during a switch (their invalidation cannot drop what is in use),
   * with the old version's size: this is when to make it forget them.
   */
  onOlderClosed?: (path: string) => void;
}

export class QuiltFilesystem {
  private gen: Generation;
  private generation = 0;
  /** Deadline for one read, ms. */
  readonly readTimeoutMs: number;
  private readonly open_ = new OpenFiles();
  /** Keys whose read failure was already logged: one line per key, not one per 128 KiB. */
  private readonly loggedFailures = new Set<string>();

  constructor(
    source: TreeSource,
    private readonly reader: EntryReader,
    private readonly options: FilesystemOptions,
  ) {
    this.gen = firstGeneration(source, options);
    this.readTimeoutMs = options.readTimeoutMs ?? READ_TIMEOUT_MS;
  }

  /** The tree of the version served now. */
  get tree(): FsTree {
    return this.gen.tree;
  }

  /**
   * Serves another version from now on: takes its tree (built in memory from a parsed
   * manifest, or read from the manifest index), then swaps it in with one assignment (no
   * FUSE callback runs in between). Handles opened before keep reading the entries they
   * opened. Returns the tree it replaced (to tell the kernel what to forget).
   */
  switchTo(source: TreeSource, version: VersionStamp): FsTree {
    const old = this.gen;
    const next = nextGeneration(old, this.generation + 1, source, version);
    this.generation++;
    this.gen = next;
    return old.tree;
  }

  /** Files still open that were opened before the last switch: they read the version they opened. */
  olderOpen(): number {
    return this.open_.olderThan(this.generation);
  }

  /**
   * A path opened in this version while a handle of an older version with other bytes at
   * that path is open. The kernel has one inode (one size, one page cache) per path: the two
   * readers may see each other's size and pages (RELIABILITY.md, "Switching versions").
   */
  private warnSharedPath(path: string, entry: ManifestEntry): void {
    const f = this.open_.olderWithOtherBytes(path, entry, this.generation);
    if (f)
      log().warn(
        { path, generation: this.generation, openedIn: f.generation },
        "a path open in an older version was opened in the new version with other bytes: its old reader may see the new size and pages",
      );
  }

  /** Files currently open (handles not yet released). */
  get openFiles(): number {
    return this.open_.size;
  }

  async getattr(path: string): Promise<Attr> {
    const g = this.gen;
    return this.attrIn(g, this.resolveIn(g, path, "getattr"));
  }

  /** `parentIno` is a tree inode number of the version served now. */
  async lookup(parentIno: number, name: string): Promise<Attr> {
    const g = this.gen;
    if (!g.tree.isDirectory(parentIno))
      throw new FsError("ENOTDIR", "lookup", g.tree.path(parentIno) + "/" + name);
    const ino = g.tree.lookup(parentIno, name);
    if (ino === NOT_FOUND) throw new FsError("ENOENT", "lookup", joinPath(g.tree.path(parentIno), name));
    return this.attrIn(g, ino);
  }

  /** The directory's children in name order ("." and ".." are the shell's business). */
  async readdir(path: string): Promise<DirEntry[]> {
    return (await this.listing(path)).children;
  }

  /** A directory, its parent and its children, all from one version (a switch may come between two calls). */
  async listing(path: string): Promise<{ self: Attr; parent: Attr; children: DirEntry[] }> {
    const g = this.gen;
    const ino = this.resolveIn(g, path, "readdir");
    if (!g.tree.isDirectory(ino)) throw new FsError("ENOTDIR", "readdir", path);
    const children: DirEntry[] = [];
    for (const child of g.tree.list(ino))
      children.push({ name: child.name, attr: this.attrIn(g, child.ino) });
    return { self: this.attrIn(g, ino), parent: this.attrIn(g, g.tree.parent(ino)), children };
  }

  /**
   * A directory's listing for FUSE's readdir, "." and ".." first, each entry with its
   * attributes (READDIRPLUS), pinned to the version served now: its pages stay one version
   * even when a switch comes between two of them.
   */
  async openListing(path: string): Promise<DirListing> {
    const g = this.gen;
    const ino = this.resolveIn(g, path, "opendir");
    if (!g.tree.isDirectory(ino)) throw new FsError("ENOTDIR", "opendir", path);
    return new DirListing(g.tree, ino, (treeIno) => this.attrIn(g, treeIno));
  }

  /** Opens a file for reading and returns its handle; any write access answers EROFS. */
  async open(path: string, flags: number): Promise<number> {
    const g = this.gen;
    const entry = g.tree.entry(this.resolveIn(g, path, "open"));
    if (entry === undefined) throw new FsError("EISDIR", "open", path);
    if (opensForWriting(flags)) throw new FsError("EROFS", "open", path);
    const fh = this.open_.allocate();
    const generation = this.generation;
    if (this.olderOpen() > 0) this.warnSharedPath(path, entry);
    this.open_.set(fh, { entry, path, handle: undefined, generation });
    try {
      const handle = this.reader.open ? await this.reader.open(entry) : undefined;
      this.open_.set(fh, { entry, path, handle, generation });
    } catch (err) {
      this.open_.delete(fh);
      throw this.readFailure(err, "open", path, entry);
    }
    return fh;
  }

  /** Up to `length` bytes at `offset`: fewer only at the end of the file. */
  async read(fh: number, offset: number, length: number): Promise<Buffer> {
    const file = this.open_.get(fh);
    if (file === undefined) throw new FsError("EBADF", "read", `fh ${fh}`);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new FsError("EINVAL", "read", file.path);
    }
    const size = file.entry.size;
    const n = Math.min(length, size - offset);
    if (n <= 0) return Buffer.alloc(0);
    let data: Buffer;
    try {
      data = await withDeadline(
        (signal) => this.reader.read(file.entry, offset, n, file.handle, signal),
        this.readTimeoutMs,
        file.path,
      );
    } catch (err) {
      throw this.readFailure(err, "read", file.path, file.entry);
    }
    if (data.length !== n) {
      // A short buffer would look like the end of the file and silently truncate it.
      const err = new Error(`reader returned ${data.length} bytes for ${n} at offset ${offset}`);
      throw this.readFailure(err, "read", file.path, file.entry);
    }
    return data;
  }

  async release(fh: number): Promise<void> {
    const file = this.open_.get(fh);
    if (file === undefined) throw new FsError("EBADF", "release", `fh ${fh}`);
    this.open_.delete(fh);
    if (file.generation < this.generation && !this.open_.olderOnPath(file.path, this.generation)) {
      this.options.onOlderClosed?.(file.path);
    }
    try {
      await this.reader.release?.(file.handle);
    } catch (err) {
      // The kernel ignores release's answer; the file is closed either way.
      log().warn({ key: file.entry.logicalKey, err }, "reader release failed");
    }
  }

  async statfs(): Promise<StatFs> {
    return statfsOf(this.gen.tree);
  }

  async listxattr(path: string): Promise<string[]> {
    const g = this.gen;
    return xattrNames(g.tree, this.resolveIn(g, path, "listxattr"), g.pkg);
  }

  async getxattr(path: string, name: string): Promise<Buffer> {
    if (isUnsupportedNamespace(name)) throw new FsError("EOPNOTSUPP", "getxattr", path);
    const g = this.gen;
    const text = xattrText(g.tree, this.resolveIn(g, path, "getxattr"), name, g.pkg);
    if (text === undefined) throw new FsError("ENODATA", "getxattr", path);
    const value = Buffer.from(text, "utf8");
    if (value.length > XATTR_SIZE_MAX) throw new FsError("E2BIG", "getxattr", path);
    return value;
  }

  /** Any operation in MUTATING_OPS: the mount is read-only. */
  async refuse(op: MutatingOp, path: string): Promise<never> {
    throw new FsError("EROFS", op, path);
  }

  /** The attributes of a tree inode of the version served now. */
  attr(ino: number): Attr {
    return this.attrIn(this.gen, ino);
  }

  private attrIn(g: Generation, treeIno: number): Attr {
    const ino = g.inoBase + treeIno;
    const size = g.tree.sizeOf(treeIno);
    if (size === undefined) return directoryAttr(ino, this.options, g.time);
    const failed = this.reader.anyFailed?.() !== false && this.reader.hasFailed?.(g.tree.path(treeIno));
    return fileAttr(ino, size, this.options, g.time, failed === true);
  }

  private resolveIn(g: Generation, path: string, syscall: string): number {
    const ino = g.tree.resolve(path);
    if (ino === NOT_FOUND) throw new FsError("ENOENT", syscall, path);
    if (ino === NOT_A_DIRECTORY) throw new FsError("ENOTDIR", syscall, path);
    return ino;
  }

  /** The FsError for a failed read or open, logged once per key. */
  private readFailure(err: unknown, syscall: string, path: string, entry: ManifestEntry): FsError {
    const code = readErrno(err);
    if (!this.loggedFailures.has(entry.logicalKey)) {
      this.loggedFailures.add(entry.logicalKey);
      log().warn(
        { key: entry.logicalKey, physicalKey: entry.physicalKey.toString(), errno: code, err },
        `${syscall} failed`,
      );
    }
    return err instanceof FsError ? err : new FsError(code, syscall, path, { cause: err });
  }
}

function joinPath(dir: string, name: string): string {
  return "/" + (dir === "" ? name : dir + "/" + name);
}
