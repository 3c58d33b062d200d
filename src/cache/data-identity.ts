// The identity of a data directory: a random id in a file at its top, recorded in each index
// that counts blocks of it (cache-index.ts). The index lives under the state directory and
// the blocks under the cache directory, so either can go without the other (`rm -rf
// ~/.cache/quilt-ts` is the natural way to free space). An index whose recorded id is not the
// directory's describes blocks that are not there: it is reset at open, instead of paying a
// failed open and a refetch for every block it lists.
//
// Several daemons, each with its own index, may share one data directory (QUILT_CACHE_DATA_DIR),
// so they must all read the same id: the first to find the file missing writes it under a
// temporary name (fsynced) and links it into place, which fails if another got there first,
// whose id is then read. The file appears whole or not at all. A filesystem without hard
// links gets a rename instead (a lost race then costs the loser's peers one index reset).
import { randomBytes } from "node:crypto";
import { link, open, readFile, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { errnoCode } from "../errors.js";
import { log } from "../log.js";

/** Not a block layout (`v2-b…`) nor the digests directory: the reconcile scan never looks at it. */
export const IDENTITY_FILE = "cache-id";
const ID_RE = /^[0-9a-f]{32}$/;

function identityPath(dataDir: string): string {
  return join(dataDir, IDENTITY_FILE);
}

async function readId(path: string): Promise<string | undefined> {
  try {
    const id = (await readFile(path, "utf8")).trim();
    if (ID_RE.test(id)) return id;
    log().warn({ path }, "unreadable cache identity file replaced");
    return "";
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return undefined;
    throw err;
  }
}

/** Writes `id` to a new temporary file beside `path`, fsynced; returns its name. */
async function writeTemp(path: string, id: string): Promise<string> {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  const fh = await open(tmp, "wx");
  try {
    await fh.writeFile(`${id}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return tmp;
}

/** Hard links are refused by some filesystems (FAT, some FUSE and SMB mounts). */
function noHardLinks(code: string | undefined): boolean {
  return (
    code === "EPERM" || code === "ENOTSUP" || code === "EOPNOTSUPP" || code === "ENOSYS" || code === "EMLINK"
  );
}

/** Makes a new name durable (a crash must not leave an index recording an id the disk lost). */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r").catch(() => undefined);
  await fh?.sync().catch(() => undefined);
  await fh?.close();
}

/**
 * The id of `dataDir` (which must exist), created when missing or unreadable. Every caller
 * sharing the directory gets the same id, whichever created it. When the file cannot be
 * read or written (a full or read-only disk), a fresh id that no index recorded: the index
 * is reset, which is always safe, and the cache still opens.
 */
export async function dataIdentity(dataDir: string): Promise<string> {
  try {
    return await readOrCreate(dataDir);
  } catch (err) {
    log().warn({ err, dataDir }, "cache identity file unavailable; the cache index is reset");
    return randomBytes(16).toString("hex");
  }
}

async function readOrCreate(dataDir: string): Promise<string> {
  const path = identityPath(dataDir);
  for (let attempt = 0; ; attempt++) {
    const found = await readId(path);
    if (found) return found;
    const id = randomBytes(16).toString("hex");
    const tmp = await writeTemp(path, id);
    try {
      // A damaged file is replaced, whatever another daemon does meanwhile (both ids are new);
      // so is a missing one on a filesystem without hard links, or one that keeps vanishing.
      const place = found === "" || attempt >= 2 ? rename : link;
      try {
        await place(tmp, path);
      } catch (err) {
        const code = errnoCode(err);
        if (code === "EEXIST") continue; // another daemon created it first: read theirs
        if (place === rename || !noHardLinks(code)) throw err;
        await rename(tmp, path);
      }
      await syncDir(dataDir);
      return id;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }
}
