// After a version switch the kernel still holds what it learned of the old version: dentries
// and attributes, kept for KERNEL_CACHE_SECONDS (an hour), so a file whose size changed would
// be opened with its old size. libfuse 2's high-level API, all the binding offers, cannot
// tell the kernel to forget them, but the kernel takes invalidation notices written to the
// FUSE device by whoever holds its file descriptor, and this process holds it. So we write
// FUSE_NOTIFY_INVAL_ENTRY for every name under the root: the kernel drops each of those
// dentries and every unused one below it, and the next lookup of any path asks us again (and
// takes the new attributes). The root's own attributes go with FUSE_NOTIFY_INVAL_INODE on
// inode 1 (libfuse numbers inodes itself; only the root's number is known, FUSE_ROOT_ID).
//
// The notices go to the descriptor of the mount they are about (fuse-device.ts tells which);
// when that is not known, to every /dev/fuse descriptor of this process: for another mount
// they are a no-op (ENOENT: no such dentry) or cost one lookup again. The target is asked for
// when the notices are written, so a mount that started closing meanwhile gets none. Writes
// are asynchronous: the kernel takes the
// directory's lock to invalidate, and a lookup holding it may be waiting for this very
// thread to answer. Unmounts wait for pending notices (afterInvalidations) so a descriptor
// is never closed and its number reused while a notice is on its way to it.
import { write } from "node:fs";
import { log } from "../log.js";
import { fuseDescriptors, isFuseDevice } from "./fuse-device.js";

const FUSE_NOTIFY_INVAL_INODE = 2;
const FUSE_NOTIFY_INVAL_ENTRY = 3;
const FUSE_ROOT_ID = 1n;
/** struct fuse_out_header: len u32, error i32 (the notice's code), unique u64 (0 for a notice). */
const OUT_HEADER_BYTES = 16;

let pending: Promise<unknown> = Promise.resolve();

/** Resolves once no invalidation is writing to a FUSE descriptor. */
export function afterInvalidations(): Promise<void> {
  return pending.then(
    () => undefined,
    () => undefined,
  );
}

/** Where notices go: a mount's descriptor, every descriptor ("all": the mount's is not known), or nowhere (it is closing). */
export type NoticeTarget = () => number | "all" | undefined;

/** The kernel forgets the dentries of these root-level names and the root's attributes, in the target's mount. */
export function invalidateRootNames(
  names: Iterable<string>,
  target: NoticeTarget,
): Promise<{ notices: number }> {
  const messages = [invalInode(FUSE_ROOT_ID)];
  for (const name of names) messages.push(invalEntry(FUSE_ROOT_ID, name));
  const run = pending.then(() => {
    const to = target();
    return writeAll(messages, to === undefined ? [] : to === "all" ? fuseDescriptors() : [to]);
  });
  pending = run.catch(() => undefined);
  return run;
}

async function writeAll(messages: Buffer[], fds: number[]): Promise<{ notices: number }> {
  let notices = 0;
  for (const fd of fds) {
    for (const m of messages) {
      if (!isFuseDevice(fd)) break; // closed meanwhile (its mount went away)
      const code = await writeNotice(fd, m);
      if (code === undefined) notices++;
      else if (code !== "ENOENT") {
        log().warn({ fd, code }, "the kernel refused a FUSE invalidation notice");
        break;
      }
    }
  }
  return { notices };
}

/** Writes one notice; undefined when the kernel took it, else the errno name (ENOENT: nothing cached under that name). */
function writeNotice(fd: number, message: Buffer): Promise<string | undefined> {
  return new Promise((resolve) =>
    write(fd, message, (err) => resolve(err ? (err.code ?? "EIO") : undefined)),
  );
}

function header(body: number, code: number): Buffer {
  const b = Buffer.alloc(OUT_HEADER_BYTES + body);
  b.writeUInt32LE(b.length, 0);
  b.writeInt32LE(code, 4);
  b.writeBigUInt64LE(0n, 8);
  return b;
}

/** struct fuse_notify_inval_inode_out: ino u64, off i64 (-1: attributes only), len i64. */
function invalInode(ino: bigint): Buffer {
  const b = header(24, FUSE_NOTIFY_INVAL_INODE);
  b.writeBigUInt64LE(ino, 16);
  b.writeBigInt64LE(-1n, 24);
  b.writeBigInt64LE(0n, 32);
  return b;
}

/** struct fuse_notify_inval_entry_out: parent u64, namelen u32, flags u32; then the name and a NUL. */
function invalEntry(parent: bigint, name: string): Buffer {
  const bytes = Buffer.from(name, "utf8");
  const b = header(16 + bytes.length + 1, FUSE_NOTIFY_INVAL_ENTRY);
  b.writeBigUInt64LE(parent, 16);
  b.writeUInt32LE(bytes.length, 24);
  b.writeUInt32LE(0, 28);
  bytes.copy(b, 32);
  return b;
}
