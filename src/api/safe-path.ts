// Materializing logical keys under a directory without ever writing, deleting or
// following a link outside it. Logical keys are validated on load (no "..", no absolute
// paths), so the remaining danger is what is already on disk: a symlink or a file where
// a directory of the package should be.
import { lstat, mkdir, rm, stat, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { QuiltError, errnoCode } from "../errors.js";
import { untrusted } from "../untrusted-text.js";

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
      throw new QuiltError(
        "EEXISTS",
        `${untrusted(dir)} is ${st.isSymbolicLink() ? "a symbolic link" : "a file"}, but the package needs a directory there`,
        {
          hint: "make the directory match the package with force-match (it replaces what is in the way)",
        },
      );
    }
    await unlink(dir);
    await mkdir(dir);
  }
}

/**
 * `mkdir -p` that ends. Node 20's recursive mkdir loops forever (100% CPU) when mkdir
 * answers ENOENT although the parent exists, as under /proc: an install to /proc/x never
 * returned. This creates one level at a time and lets any other answer through.
 */
export async function makeDirectories(dir: string): Promise<void> {
  try {
    await mkdir(dir);
  } catch (err) {
    const code = errnoCode(err);
    if (code === "EEXIST" && (await stat(dir)).isDirectory()) return; // a link to a directory is fine: the user named it
    if (code !== "ENOENT" || dirname(dir) === dir) throw err;
    const parentExisted = await lstat(dirname(dir)).then(
      () => true,
      () => false,
    );
    if (parentExisted) throw err; // ENOENT with the parent there: the filesystem refuses
    await makeDirectories(dirname(dir));
    await mkdir(dir).catch(async (e: unknown) => {
      if (errnoCode(e) !== "EEXIST" || !(await stat(dir)).isDirectory()) throw e;
    });
  }
}

/** Removes whatever is at `path` (a link itself, never its target; a directory recursively). */
export async function removeEntry(path: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return;
  if (st.isDirectory()) await rm(path, { recursive: true, force: true });
  else await unlink(path);
}
