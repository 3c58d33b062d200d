// Listing of the local-directory store: a recursive walk that yields keys in S3's order
// (UTF-8 bytes) without sorting the whole tree, and skips what S3 would not show (temp
// files, empty directories).
import type { Dirent } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { errnoCode } from "../errors.js";
import { TEMP_RE, fsError, localEtag } from "./local-fs.js";
import type { ListEntry } from "./object-store.js";
import { compareCodePoints } from "../code-point-order.js";

/**
 * Yields the files under `bucket` whose keys start with `prefix`, in UTF-8 key order. A
 * directory sorts as its name plus "/", which puts all of its keys exactly where S3 would
 * (e.g. "a-b" < "a/x" because "-" < "/"). With a delimiter, a directory whose every key
 * would fold into one common prefix is not walked, only probed for one file.
 */
export async function* walk(
  bucket: string,
  prefix: string,
  delimiter: string | undefined,
): AsyncGenerator<ListEntry> {
  const startDir = prefix.slice(0, prefix.lastIndexOf("/") + 1);
  yield* walkDir(bucket, startDir, prefix, delimiter);
}

async function* walkDir(
  bucket: string,
  rel: string,
  prefix: string,
  delimiter: string | undefined,
): AsyncGenerator<ListEntry> {
  const names = await listDir(join(bucket, rel));
  const items: { name: string; sortKey: string; dir: boolean }[] = [];
  for (const d of names) {
    if (TEMP_RE.test(d.name)) continue;
    let dir = d.isDirectory();
    if (d.isSymbolicLink()) {
      // Follow links to files; links to directories are not walked (they could loop).
      const st = await stat(join(bucket, rel, d.name)).catch(() => undefined);
      if (!st?.isFile()) continue;
      dir = false;
    } else if (!dir && !d.isFile()) {
      continue;
    }
    const key = rel + d.name + (dir ? "/" : "");
    if (!(key.startsWith(prefix) || (dir && prefix.startsWith(key)))) continue;
    items.push({ name: d.name, sortKey: key, dir });
  }
  items.sort((a, b) => compareCodePoints(a.sortKey, b.sortKey));
  for (const item of items) {
    const path = join(bucket, rel, item.name);
    if (!item.dir) {
      const st = await stat(path, { bigint: true }).catch(() => undefined);
      if (!st?.isFile()) continue; // removed while listing
      yield {
        kind: "object",
        key: item.sortKey,
        size: Number(st.size),
        etag: localEtag(st),
        lastModified: new Date(Number(st.mtimeMs)),
      };
    } else if (
      delimiter &&
      item.sortKey.length > prefix.length &&
      item.sortKey.indexOf(delimiter, prefix.length) >= 0
    ) {
      // Everything below folds into one common prefix: one file proves it exists.
      const first = await firstFile(path);
      if (first !== undefined) yield { kind: "object", key: item.sortKey + first, size: 0 };
    } else {
      yield* walkDir(bucket, item.sortKey, prefix, delimiter);
    }
  }
}

async function firstFile(dir: string): Promise<string | undefined> {
  for (const d of await listDir(dir)) {
    if (TEMP_RE.test(d.name)) continue;
    if (
      d.isFile() ||
      (d.isSymbolicLink() && (await stat(join(dir, d.name)).catch(() => undefined))?.isFile())
    )
      return d.name;
    if (d.isDirectory()) {
      const inner = await firstFile(join(dir, d.name));
      if (inner !== undefined) return `${d.name}/${inner}`;
    }
  }
  return undefined;
}

async function listDir(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = errnoCode(err);
    if (code === "ENOENT" || code === "ENOTDIR") return [];
    throw fsError(err, "list", dir);
  }
}
