// The local-directory ObjectStore: the embedded default registry and `file://` physical keys.
// `bucket` is an absolute directory ("/" for file:///abs/path keys) and a key is a path
// below it. Writes go to a temp name in the same directory, are fsynced, then renamed into
// place, so a reader (or a crash) sees the old file or the new one, never half of one.
//
// Versions: local files are unversioned, so a read pinned to a versionId is a plain read.
// ETag: `${mtimeNs}-${size}` (mtime in integer nanoseconds since the epoch). It changes
// whenever the file is replaced or rewritten (a rename brings the new file's own mtime), it
// costs one stat, and it stays put across reads; an etag-pinned read of a changed file gives
// ESTALE. Two writes of the same size within one timestamp tick of the filesystem would
// collide; our own writes always rename a new file into place, which gets a new mtime.
import { constants as fsConstants, type BigIntStats } from "node:fs";
import { copyFile, mkdir, open, rename, stat, unlink, type FileHandle } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { QuiltError, errnoCode } from "../errors.js";
import { checkPrefix, fsError, localEtag, objectPath, type StatLike } from "./local-fs.js";
import { walk } from "./local-list.js";
import type {
  GetOptions,
  ListEntry,
  ListOptions,
  ObjectHead,
  ObjectLocation,
  ObjectStore,
  PutBody,
  PutOptions,
  PutResult,
} from "./object-store.js";
import {
  bodyBytes,
  checkRange,
  clampRange,
  foldDelimited,
  isPathBody,
  sameEtag,
  throwIfAborted,
} from "./store-helpers.js";

export { localEtag, objectPath } from "./local-fs.js";

export class LocalStore implements ObjectStore {
  readonly scheme = "file" as const;

  async get(loc: ObjectLocation, opts: GetOptions = {}): Promise<Buffer> {
    checkRange(opts.range);
    throwIfAborted(opts.signal);
    const path = objectPath(loc.bucket, loc.key);
    const fh = await openPinned(path, loc);
    try {
      const { start, end } = clampRange(opts.range, fh.size);
      const out = Buffer.allocUnsafe(end - start);
      let done = 0;
      while (done < out.length) {
        const { bytesRead } = await fh.handle.read(out, done, out.length - done, start + done);
        if (bytesRead === 0) break; // truncated under us; return what is there
        done += bytesRead;
      }
      return done === out.length ? out : out.subarray(0, done);
    } finally {
      await fh.handle.close();
    }
  }

  async getStream(loc: ObjectLocation, opts: GetOptions = {}): Promise<Readable> {
    checkRange(opts.range);
    throwIfAborted(opts.signal);
    const fh = await openPinned(objectPath(loc.bucket, loc.key), loc);
    const { start, end } = clampRange(opts.range, fh.size);
    if (end === start) {
      // createReadStream has no way to express an empty range (its `end` is inclusive).
      await fh.handle.close();
      return Readable.from([]);
    }
    return fh.handle.createReadStream({ start, end: end - 1, autoClose: true, signal: opts.signal });
  }

  async head(loc: ObjectLocation): Promise<ObjectHead> {
    const path = objectPath(loc.bucket, loc.key);
    const st = await statFile(path);
    checkPin(st, loc, path);
    return { size: Number(st.size), etag: localEtag(st), lastModified: new Date(Number(st.mtimeMs)) };
  }

  async put(
    loc: Omit<ObjectLocation, "versionId" | "etag">,
    body: PutBody,
    opts: PutOptions = {},
  ): Promise<PutResult> {
    throwIfAborted(opts.signal);
    const path = objectPath(loc.bucket, loc.key);
    const result = await writeAtomically(path, async (tmp) => {
      if (isPathBody(body)) {
        await copyFile(body.path, tmp, fsConstants.COPYFILE_FICLONE);
      } else {
        const fh = await open(tmp, "wx");
        try {
          await fh.writeFile(bodyBytes(body));
        } finally {
          await fh.close();
        }
      }
    });
    opts.onProgress?.(result.size);
    return { etag: result.etag };
  }

  async *list(bucket: string, prefix: string, opts: ListOptions = {}): AsyncGenerator<ListEntry> {
    checkPrefix(bucket, prefix);
    yield* foldDelimited(walk(bucket, prefix, opts.delimiter), prefix, opts.delimiter);
  }

  async delete(loc: ObjectLocation): Promise<void> {
    const path = objectPath(loc.bucket, loc.key);
    try {
      await unlink(path);
    } catch (err) {
      const code = errnoCode(err);
      // Deleting a missing key succeeds, as on S3.
      if (code === "ENOENT" || code === "ENOTDIR") return;
      throw fsError(err, "delete", path);
    }
  }

  async copy(
    src: ObjectLocation,
    dst: Omit<ObjectLocation, "versionId" | "etag">,
    opts: PutOptions = {},
  ): Promise<PutResult> {
    throwIfAborted(opts.signal);
    const srcPath = objectPath(src.bucket, src.key);
    const dstPath = objectPath(dst.bucket, dst.key);
    checkPin(await statFile(srcPath), src, srcPath);
    const result = await writeAtomically(dstPath, async (tmp) => {
      // FICLONE: a reflink on filesystems that have them (btrfs, XFS), a plain copy elsewhere.
      await copyFile(srcPath, tmp, fsConstants.COPYFILE_FICLONE).catch((err: unknown) => {
        throw fsError(err, "copy", srcPath);
      });
      // The pin is checked again after copying: the source may have been replaced meanwhile.
      checkPin(await statFile(srcPath), src, srcPath);
    });
    opts.onProgress?.(result.size);
    return { etag: result.etag };
  }

  async close(): Promise<void> {}
}

async function statFile(path: string): Promise<BigIntStats> {
  let st;
  try {
    st = await stat(path, { bigint: true });
  } catch (err) {
    throw fsError(err, "stat", path);
  }
  if (!st.isFile()) throw new QuiltError("ENOTFOUND", `${path}: no such object (not a regular file)`);
  return st;
}

function checkPin(st: StatLike, loc: ObjectLocation, path: string): void {
  if (loc.etag !== undefined && !sameEtag(loc.etag, localEtag(st))) {
    throw new QuiltError(
      "ESTALE",
      `${path}: the file changed since it was pinned (etag ${loc.etag}, now ${localEtag(st)})`,
      {
        hint: "The file was modified after the package was built; rebuild or re-push the package.",
      },
    );
  }
}

/**
 * Opens the file and checks the etag pin against the opened inode, so the bytes read match it.
 * O_NONBLOCK: a FIFO (or a device) where an object should be would block a plain open until a
 * writer came, holding a thread-pool thread and the install or mount forever; opened this way
 * it returns at once and the fstat below refuses it. Reads of regular files ignore the flag.
 */
async function openPinned(path: string, loc: ObjectLocation): Promise<{ handle: FileHandle; size: number }> {
  let handle: FileHandle;
  try {
    handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (err) {
    throw fsError(err, "open", path);
  }
  try {
    const st = await handle.stat({ bigint: true });
    if (!st.isFile()) throw new QuiltError("ENOTFOUND", `${path}: no such object (not a regular file)`);
    checkPin(st, loc, path);
    return { handle, size: Number(st.size) };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** Writes via `fill(tmp)`, fsyncs, renames into place; returns the new file's size and etag. */
async function writeAtomically(
  path: string,
  fill: (tmp: string) => Promise<void>,
): Promise<{ size: number; etag: string }> {
  const dir = dirname(path);
  const tmp = join(dir, `.${path.slice(dir.length + 1)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw fsError(err, "mkdir", dir);
  }
  try {
    await fill(tmp);
    const fh = await open(tmp, "r+");
    let st;
    try {
      await fh.sync();
      st = await fh.stat({ bigint: true });
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    return { size: Number(st.size), etag: localEtag(st) };
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err instanceof QuiltError ? err : fsError(err, "write", path);
  }
}
