// The filesystem core: every FUSE operation as an async function over the inode tree and
// an EntryReader, answering data or throwing FsError with an errno name. It knows no FUSE
// binding and no storage, so it is tested without a kernel mount and the thin shell in
// fuse-mount.ts only translates. Metadata operations (getattr, lookup, readdir, open,
// xattrs, statfs) are answered from the tree alone and never reach storage; only `read`
// calls the reader.
import { constants as fsConstants } from "node:fs";
import { log } from "../log.js";
import type { Manifest, ManifestEntry } from "../manifest/manifest.js";
import type { EntryReader, ReadHandle } from "./entry-reader.js";
import { FsError, readErrno } from "./fs-errors.js";
import { InodeTree, NOT_A_DIRECTORY, NOT_FOUND } from "./inode-tree.js";
import type { FsTree } from "./tree.js";
import type { JsonValue } from "../manifest/json-value.js";
import { type PackageXattrs, XATTR_SIZE_MAX, xattrNames, xattrText } from "./xattrs.js";

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

interface OpenFile {
  entry: ManifestEntry;
  path: string;
  handle: ReadHandle;
}

/** File handles are positive int32s: the binding carries them through a signed 32-bit slot. */
const MAX_HANDLE = 0x7fffffff;

export class QuiltFilesystem {
  readonly tree: FsTree;
  private readonly pkg: PackageXattrs;
  /** Deadline for one read, ms. */
  readonly readTimeoutMs: number;
  private readonly open_ = new Map<number, OpenFile>();
  private nextHandle = 1;
  /** Keys whose read failure was already logged: one line per key, not one per 128 KiB. */
  private readonly loggedFailures = new Set<string>();

  /** `source`: a parsed manifest (its tree is built in memory) or a tree read from the manifest index. */
  constructor(
    source: Pick<Manifest, "entries" | "dirMeta" | "userMeta"> | { tree: FsTree; userMeta: JsonValue },
    private readonly reader: EntryReader,
    private readonly options: FilesystemOptions,
  ) {
    this.tree = "tree" in source ? source.tree : InodeTree.build(source);
    this.pkg = { userMeta: source.userMeta, topHash: options.topHash };
    this.readTimeoutMs = options.readTimeoutMs ?? READ_TIMEOUT_MS;
  }

  /** Files currently open (handles not yet released). */
  get openFiles(): number {
    return this.open_.size;
  }

  async getattr(path: string): Promise<Attr> {
    return this.attr(this.resolve(path, "getattr"));
  }

  async lookup(parentIno: number, name: string): Promise<Attr> {
    if (!this.tree.isDirectory(parentIno)) throw new FsError("ENOTDIR", "lookup", this.tree.path(parentIno) + "/" + name);
    const ino = this.tree.lookup(parentIno, name);
    if (ino === NOT_FOUND) throw new FsError("ENOENT", "lookup", joinPath(this.tree.path(parentIno), name));
    return this.attr(ino);
  }

  /** The directory's children in name order ("." and ".." are the shell's business). */
  async readdir(path: string): Promise<DirEntry[]> {
    const ino = this.resolve(path, "readdir");
    if (!this.tree.isDirectory(ino)) throw new FsError("ENOTDIR", "readdir", path);
    const out: DirEntry[] = [];
    for (const child of this.tree.list(ino)) out.push({ name: child.name, attr: this.attr(child.ino) });
    return out;
  }

  /** Opens a file for reading and returns its handle; any write access answers EROFS. */
  async open(path: string, flags: number): Promise<number> {
    const ino = this.resolve(path, "open");
    const entry = this.tree.entry(ino);
    if (entry === undefined) throw new FsError("EISDIR", "open", path);
    if ((flags & O_ACCMODE) !== fsConstants.O_RDONLY || (flags & fsConstants.O_TRUNC) !== 0) {
      throw new FsError("EROFS", "open", path);
    }
    const fh = this.allocateHandle();
    this.open_.set(fh, { entry, path, handle: undefined });
    try {
      const handle = this.reader.open ? await this.reader.open(entry) : undefined;
      this.open_.set(fh, { entry, path, handle });
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
      data = await this.withDeadline((signal) => this.reader.read(file.entry, offset, n, file.handle, signal), file.path);
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
    try {
      await this.reader.release?.(file.handle);
    } catch (err) {
      // The kernel ignores release's answer; the file is closed either way.
      log().warn({ key: file.entry.logicalKey, err }, "reader release failed");
    }
  }

  async statfs(): Promise<StatFs> {
    // f_blocks is 32 bits wide in the binding: grow the fragment size until it fits.
    let frsize = 4096;
    while (Math.ceil(this.tree.totalBytes / frsize) > 0xffffffff) frsize *= 2;
    const files = Math.min(this.tree.nodeCount, 0xffffffff);
    return { bsize: frsize, frsize, blocks: Math.ceil(this.tree.totalBytes / frsize), bfree: 0, bavail: 0, files, ffree: 0, favail: 0, fsid: 0, flag: ST_RDONLY, namemax: NAME_MAX };
  }

  async listxattr(path: string): Promise<string[]> {
    return xattrNames(this.tree, this.resolve(path, "listxattr"), this.pkg);
  }

  async getxattr(path: string, name: string): Promise<Buffer> {
    const text = xattrText(this.tree, this.resolve(path, "getxattr"), name, this.pkg);
    if (text === undefined) throw new FsError("ENODATA", "getxattr", path);
    const value = Buffer.from(text, "utf8");
    if (value.length > XATTR_SIZE_MAX) throw new FsError("E2BIG", "getxattr", path);
    return value;
  }

  /** Any operation in MUTATING_OPS: the mount is read-only. */
  async refuse(op: MutatingOp, path: string): Promise<never> {
    throw new FsError("EROFS", op, path);
  }

  /** The attributes of an inode. */
  attr(ino: number): Attr {
    const { uid, gid, time } = this.options;
    const size = this.tree.sizeOf(ino);
    if (size === undefined) {
      // nlink 1 tells find(1) the subdirectory count is unknown, so it does not skip any.
      return { ino, mode: fsConstants.S_IFDIR | 0o555, nlink: 1, uid, gid, size: DIR_SIZE, blocks: 0, blksize: PREFERRED_IO_BYTES, atime: time, mtime: time, ctime: time };
    }
    const mtime = this.reader.hasFailed?.(this.tree.path(ino)) ? FAILED_MTIME : time;
    return { ino, mode: fsConstants.S_IFREG | 0o444, nlink: 1, uid, gid, size, blocks: Math.ceil(size / 512), blksize: PREFERRED_IO_BYTES, atime: time, mtime, ctime: time };
  }

  private resolve(path: string, syscall: string): number {
    const ino = this.tree.resolve(path);
    if (ino === NOT_FOUND) throw new FsError("ENOENT", syscall, path);
    if (ino === NOT_A_DIRECTORY) throw new FsError("ENOTDIR", syscall, path);
    return ino;
  }

  private allocateHandle(): number {
    for (;;) {
      const fh = this.nextHandle;
      this.nextHandle = fh >= MAX_HANDLE ? 1 : fh + 1;
      if (!this.open_.has(fh)) return fh;
    }
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
      log().warn({ key: entry.logicalKey, physicalKey: entry.physicalKey.toString(), errno: code, err }, `${syscall} failed`);
    }
    return err instanceof FsError ? err : new FsError(code, syscall, path, { cause: err });
  }
}

function joinPath(dir: string, name: string): string {
  return "/" + (dir === "" ? name : dir + "/" + name);
}
