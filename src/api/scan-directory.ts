// Lists the regular files under a directory as logical keys, without following links:
// what verify and force-match compare with a manifest. The root's .quilt/ (our own state)
// is skipped; anything that is not a regular file (a symlink, a socket) is reported so it
// can be treated as extra.
import type { Dirent, Stats } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { errnoCode } from "../errors.js";
import { STATE_DIR } from "./safe-path.js";

export interface ScannedFile {
  key: string;
  path: string;
  /** lstat of the file; not a regular file when isFile() is false. */
  stat: Stats;
}

export async function scanDirectory(root: string): Promise<Map<string, ScannedFile>> {
  const out = new Map<string, ScannedFile>();
  const walk = async (dir: string, prefix: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (errnoCode(err) === "ENOENT" && prefix === "") return; // no directory yet: everything is missing
      throw err;
    }
    await Promise.all(
      entries.map(async (d) => {
        if (prefix === "" && d.name === STATE_DIR) return;
        const path = join(dir, d.name);
        const key = prefix + d.name;
        if (d.isDirectory()) return walk(path, key + "/");
        out.set(key, { key, path, stat: await lstat(path) });
      }),
    );
  };
  await walk(root, "");
  return out;
}
