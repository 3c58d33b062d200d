// Chunk digests kept next to the shared block files, so that a daemon sharing the data
// directory (GPU nodes on one EFS/NFS cache) can verify, chunk by chunk, the blocks another
// daemon stored, without fetching the object again. Only `sha2-256-chunked` digests are
// read from here: they prove themselves (they must recombine to the manifest hash), so a
// file planted by anyone with write access to the directory can do no harm. Digests of
// other hash types prove nothing on their own and stay in the local index.
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { errnoCode } from "../errors.js";
import { log } from "../log.js";

/** Beside the block layouts: digests do not depend on the block size. */
export function digestsDir(layout: string): string {
  return join(dirname(layout), "digests");
}

function pathFor(dir: string, key: string): string {
  return join(dir, key.slice(0, 2), key);
}

export async function readDigestFile(dir: string, key: string): Promise<Buffer | undefined> {
  try {
    return await readFile(pathFor(dir, key));
  } catch (err) {
    if (errnoCode(err) !== "ENOENT") log().warn({ err, key }, "unreadable digest file ignored");
    return undefined;
  }
}

/** Atomic (temp name, rename); a failure only costs other daemons a verification of their own. */
export async function writeDigestFile(dir: string, key: string, digests: Buffer): Promise<void> {
  const path = pathFor(dir, key);
  const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(tmp, digests);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    log().warn({ err, key }, "could not write a digest file");
  }
}
