// The filesystem core: every FUSE operation as an async function over the inode tree and
// an EntryReader, answering data or throwing FsError with an errno name. It knows no FUSE
// binding and no storage, so it is tested without a kernel mount and the thin shell in
// fuse-mount.ts only translates. Metadata operations (getattr, lookup, readdir, xattrs,
// statfs) are answered from the tree and never fetch bytes: `open`, `read` and `release`
// call the reader (a handle, then bytes), and a file's attributes ask it only whether that
// entry already failed verification (shown as a sentinel mtime).
import { constants as fsConstants } from "node:fs";
import { log } from "../log.js";
import type { Manifest, ManifestEntry } from "../manifest/manifest.js";
import type { EntryReader } from "./entry-reader.js";
import { FsError, readErrno } from "./fs-errors.js";
import { OpenFiles } from "./open-files.js";
import { InodeTree, NOT_A_DIRECTORY, NOT_FOUND } from "./inode-tree.js";
import type { FsTree } from "./tree.js";
import type { JsonValue } from "../manifest/json-value.js";
import {
  isUnsupportedNamespace,
  type PackageXattrs,
  XATTR_SIZE_MAX,
  xattrNames,
  xattrText,
} from "./xattrs.js";

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

/** A directory entry as FUSE's readdir passes it on: the kernel keeps only the inode and the type. */
export interface Dirent {
  name: string;
  ino: number;
  mode: number;
}

export interface StatFs {
  bsize: number;
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  favail: number;
  fsid: number;
  flag: number;
  namemax: number;
}

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

/**
 * 60 s: long enough for a fetch that retries a few stalls (each attempt gives up after the
 * S3 idle timeout, 15 s by default), short enough that a storage that stays silent surfaces
 * as ETIMEDOUT instead of a training process stuck in uninterruptible sleep; the read's own
 * fetch is aborted then.
 */
export const READ_TIMEOUT_MS = 60_000;
/**
 * The mtime of a file whose bytes failed verification: any value other than the version's
 * time makes libfuse's auto_cache drop the file's page cache on its next open.
 */
const FAILED_MTIME = new Date(0);

/** st_blksize, the I/O size programs like cp use: one FUSE read request (128 KiB). */
export const PREFERRED_IO_BYTES = 128 * 1024;
/** Every directory's mode: read-only, searchable. */
const DIR_MODE = fsConstants.S_IFDIR | 0o555;
/** Every file's mode: read-only. */
const FILE_MODE = fsConstants.S_IFREG | 0o444;
/** A directory's st_size, as ext4 and s3fs report it; nothing reads it. */
const DIR_SIZE = 4096;
/** NAME_MAX on Linux: the longest name the kernel passes in a lookup. */
const NAME_MAX = 255;
/** The access-mode bits of open(2) flags (Linux; Node's constants lack it). */
const O_ACCMODE = 0o3;
/** statvfs ST_RDONLY. */
const ST_RDONLY = 1;

/** Every operation that would change the tree or a file; each answers EROFS. */
export const MUTATING_OPS = [
  "write",
  "create",
  "mknod",
  "mkdir",
  "unlink",
  "rmdir",
  "rename",
  "link",
  "symlink",
  "truncate",
  "ftruncate",
  "chmod",
  "chown",
  "utimens",
  "setxattr",
  "removexattr",
] as const;
export type MutatingOp = (typeof MUTATING_OPS)[number];

/**
 * The version the filesystem serves: its tree and what its nodes report. `switchTo` replaces
 * it whole with one assignment, so every operation (each reads it once, synchronously) sees
 * one version, never a mix; open files keep the entry they opened.
 */
interface Generation {
  tree: FsTree;
  pkg: PackageXattrs;
  /** Added to tree inode numbers: a switched-to version's nodes never reuse the previous one's numbers. */
  inoBase: number;
  /**
   * The version's time plus the generation in milliseconds: the mtime libfuse's auto_cache
   * compares at each open, so a file whose bytes changed in a switch never keeps the old
   * version's pages, even when both versions were written in the same second with the same size.
   */
  time: Date;
}

/** A version as the filesystem takes it: a parsed manifest (its tree is built in memory) or a tree read from the manifest index. */
export type TreeSource =
  Pick<Manifest, "entries" | "dirMeta" | "userMeta"> | { tree: FsTree; userMeta: JsonValue };

function treeOf(source: TreeSource): FsTree {
  return "tree" in source ? source.tree : InodeTree.build(source);
}

/** st_ino is 32 bits in the binding: inode bases wrap below this. */
const MAX_INO = 0xffffffff;

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
    this.gen = {
      tree: treeOf(source),
      pkg: { userMeta: source.userMeta, topHash: options.topHash },
      inoBase: 0,
      time: options.time,
    };
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
  switchTo(source: TreeSource, version: { time: Date; topHash?: string }): FsTree {
    const tree = treeOf(source);
    const old = this.gen;
    this.generation++;
    let inoBase = old.inoBase + old.tree.nodeCount;
    if (inoBase + tree.nodeCount > MAX_INO) inoBase = 0;
    this.gen = {
      tree,
      pkg: { userMeta: source.userMeta, topHash: version.topHash },
      inoBase,
      time: new Date(version.time.getTime() + (this.generation % 1000)),
    };
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
   * The directory's entries for FUSE's readdir, "." and ".." first: names, inodes and types
   * only. libfuse 2 hands the kernel nothing else of a listing (it has no READDIRPLUS), so
   * the size, times and failed-state of every child would be computed for nothing; the
   * kernel asks for them with one lookup per name it stats.
   */
  async dirents(path: string): Promise<Dirent[]> {
    const g = this.gen;
    const ino = this.resolveIn(g, path, "readdir");
    if (!g.tree.isDirectory(ino)) throw new FsError("ENOTDIR", "readdir", path);
    const children = g.tree.list(ino);
    const out = new Array<Dirent>(children.length + 2);
    out[0] = { name: ".", ino: g.inoBase + ino, mode: DIR_MODE };
    out[1] = { name: "..", ino: g.inoBase + g.tree.parent(ino), mode: DIR_MODE };
    for (let i = 0; i < children.length; i++) {
      const c = children[i] as { name: string; ino: number };
      out[i + 2] = {
        name: c.name,
        ino: g.inoBase + c.ino,
        mode: g.tree.isDirectory(c.ino) ? DIR_MODE : FILE_MODE,
      };
    }
    return out;
  }

  /** Opens a file for reading and returns its handle; any write access answers EROFS. */
  async open(path: string, flags: number): Promise<number> {
    const g = this.gen;
    const entry = g.tree.entry(this.resolveIn(g, path, "open"));
    if (entry === undefined) throw new FsError("EISDIR", "open", path);
    if ((flags & O_ACCMODE) !== fsConstants.O_RDONLY || (flags & fsConstants.O_TRUNC) !== 0) {
      throw new FsError("EROFS", "open", path);
    }
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
      data = await this.withDeadline(
        (signal) => this.reader.read(file.entry, offset, n, file.handle, signal),
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
    const tree = this.gen.tree;
    // f_blocks is 32 bits wide in the binding: grow the fragment size until it fits.
    let frsize = 4096;
    while (Math.ceil(tree.totalBytes / frsize) > 0xffffffff) frsize *= 2;
    const files = Math.min(tree.nodeCount, 0xffffffff);
    return {
      bsize: frsize,
      frsize,
      blocks: Math.ceil(tree.totalBytes / frsize),
      bfree: 0,
      bavail: 0,
      files,
      ffree: 0,
      favail: 0,
      fsid: 0,
      flag: ST_RDONLY,
      namemax: NAME_MAX,
    };
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
    const { uid, gid } = this.options;
    const time = g.time;
    const ino = g.inoBase + treeIno;
    const size = g.tree.sizeOf(treeIno);
    if (size === undefined) {
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
    const failed = this.reader.anyFailed?.() !== false && this.reader.hasFailed?.(g.tree.path(treeIno));
    const mtime = failed ? FAILED_MTIME : time;
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
      mtime,
      ctime: time,
    };
  }

  private resolveIn(g: Generation, path: string, syscall: string): number {
    const ino = g.tree.resolve(path);
    if (ino === NOT_FOUND) throw new FsError("ENOENT", syscall, path);
    if (ino === NOT_A_DIRECTORY) throw new FsError("ENOTDIR", syscall, path);
    return ino;
  }

  /**
   * Runs a read with a deadline. Past it the reader gets ETIMEDOUT and the read's signal is
   * aborted, so its fetch stops too (a fetch other readers wait on goes on for them): a
   * reader that gave up leaves no work behind in the daemon. The kernel's own interrupt of a
   * read (a reader killed by Ctrl-C) does not reach us (the FUSE binding has no interrupt
   * callback), so this deadline is also what bounds the work of a reader that went away.
   */
  private async withDeadline<T>(run: (signal: AbortSignal) => Promise<T>, path: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const abort = new AbortController();
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new FsError("ETIMEDOUT", "read", path));
        abort.abort(new FsError("ETIMEDOUT", "read", path));
      }, this.readTimeoutMs);
    });
    const work = run(abort.signal);
    try {
      return await Promise.race([work, deadline]);
    } finally {
      clearTimeout(timer);
      work.catch(() => undefined); // a read that lost the race must not become an unhandled rejection
    }
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
