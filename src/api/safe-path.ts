// Materializing logical keys under a directory without ever writing, deleting or
// following a link outside it. Logical keys are validated on load (no "..", no absolute
// paths), so the remaining danger is what is already on disk: a symlink or a file where
// a directory of the package should be.
import { lstat, mkdir, rm, unlink } from "node:fs/promises";
import { join } from "node:path";
import { QuiltError, errnoCode } from "../errors.js";

/** Reserved at the top of an installed directory or workspace for our own state. */
export const STATE_DIR = ".quilt";

export function destPath(root: string, key: string): string {
  return join(root, ...key.split("/"));
}

/**
 * Makes every parent directory of `key` under `root` a real directory. A symlink on the
 * way is removed (the link, never its target) when `replace` is set; so is a file that
 * stands where a directory must be. Without `replace` those are refused.
 */
export async function ensureParentDirs(root: string, key: string, replace: boolean): Promise<void> {
  const parts = key.split("/").slice(0, -1);
  let dir = root;
  for (const part of parts) {
    dir = join(dir, part);
    let st;
    try {
      st = await lstat(dir);
    } catch (err) {
      if (errnoCode(err) !== "ENOENT") throw err;
      // Parallel transfers create shared parents: losing that race is fine if a directory won.
      await mkdir(dir).catch(async (e: unknown) => {
        if (errnoCode(e) !== "EEXIST" || !(await lstat(dir)).isDirectory()) throw e;
      });
      continue;
    }
    if (st.isDirectory()) continue;
    if (!replace) {
      throw new QuiltError("EEXISTS", `${dir} is ${st.isSymbolicLink() ? "a symbolic link" : "a file"}, but the package needs a directory there`, {
        hint: "make the directory match the package with force-match (it replaces what is in the way)",
      });
    }
    await unlink(dir);
    await mkdir(dir);
  }
}

/** Removes whatever is at `path` (a link itself, never its target; a directory recursively). */
export async function removeEntry(path: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return;
  if (st.isDirectory()) await rm(path, { recursive: true, force: true });
  else await unlink(path);
}
