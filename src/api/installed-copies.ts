// Where an entry's verified bytes already sit as a plain file: the directories this cache's
// library installed into (`download`, `quilt install` is the same call) are listed in
// <cacheDir>/installs.json, and each keeps its own record of what it holds (installed.json:
// per file the hash written and the stat taken right after). An installed file is handed
// out only while its size, mtime, ctime and inode are still those of the record, as verify's
// fast path trusts it (ctime cannot be set back by a user); quilt3's get_cached_path keeps
// device, inode and mtime per physical key to the same end.
import { randomBytes } from "node:crypto";
import { lstat, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { errnoCode } from "../errors.js";
import type { ManifestEntry } from "../manifest/manifest.js";
import { expectedHash } from "./fetch-entry.js";
import { readInstallState, trustedByStat } from "./install-state.js";
import { destPath } from "./safe-path.js";

const LIST_FILE = "installs.json";
/** The newest directories are kept; an older one's copies are simply not offered. */
const MAX_DIRS = 256;

async function installDirs(cacheDir: string): Promise<string[]> {
  try {
    const list: unknown = JSON.parse(await readFile(join(cacheDir, LIST_FILE), "utf8"));
    return Array.isArray(list) ? list.filter((d): d is string => typeof d === "string") : [];
  } catch (err) {
    if (errnoCode(err) === "ENOENT" || err instanceof SyntaxError) return [];
    throw err;
  }
}

/** Remembers `dir` as an install of this cache's library (newest first). */
export async function noteInstall(cacheDir: string, dir: string): Promise<void> {
  const abs = resolve(dir);
  const dirs = [abs, ...(await installDirs(cacheDir)).filter((d) => d !== abs)].slice(0, MAX_DIRS);
  await mkdir(cacheDir, { recursive: true, mode: 0o700 });
  const tmp = join(cacheDir, `.${LIST_FILE}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  await writeFile(tmp, JSON.stringify(dirs));
  await rename(tmp, join(cacheDir, LIST_FILE));
}

/** An installed file holding `entry`'s bytes, unchanged since it was verified; else undefined. */
export async function installedCopy(cacheDir: string, entry: ManifestEntry): Promise<string | undefined> {
  const hash = expectedHash(entry).value;
  for (const dir of await installDirs(cacheDir)) {
    const state = await readInstallState(dir).catch(() => undefined);
    const rec = state?.files[entry.logicalKey];
    if (rec === undefined || rec.hash !== hash) continue;
    const path = destPath(dir, entry.logicalKey);
    // lstat, as install recorded it: a symlink put in the file's place is not the file.
    const st = await lstat(path).catch(() => undefined);
    if (st?.isFile() && trustedByStat(rec, st, hash)) return path;
  }
  return undefined;
}
