// Entry metadata for programs that only see files: a training script can read an image's
// annotations with os.getxattr(path, "user.quilt.meta") instead of loading the manifest.
//
// Values (UTF-8 text):
//   user.quilt.meta          JSON of the user metadata (quilt3's `entry.meta`: the entry's
//                            "user_meta"); on a directory with a metadata line, that line's
//                            "meta"; on the root, the package's user metadata.
//   user.quilt.hash          JSON of the entry's hash object exactly as the manifest holds it,
//                            e.g. {"type": "sha2-256-chunked", "value": "..."}: the type says
//                            how to check the value (quilt3's `entry.hash`), so it is kept.
//   user.quilt.physical_key  The entry's physical key URL, as the manifest writes it
//                            (s3://bucket/key?versionId=... or file:///path).
//   user.quilt.top_hash      On the root only, when the mount knows it: the package's top hash.
// JSON is written the way Python's json.dumps writes it, numbers exactly as in the manifest.
import type { JsonValue } from "../manifest/json-value.js";
import { userMeta } from "../manifest/manifest.js";
import { canonicalJson, manifestJson, NonFiniteNumberError } from "../manifest/python-json.js";
import { ROOT_INO } from "./inode-tree.js";
import type { FsTree } from "./tree.js";

export const XATTR_META = "user.quilt.meta";
export const XATTR_HASH = "user.quilt.hash";
export const XATTR_PHYSICAL_KEY = "user.quilt.physical_key";
export const XATTR_TOP_HASH = "user.quilt.top_hash";

/** Linux refuses xattr values above XATTR_SIZE_MAX (64 KiB); a larger one answers E2BIG. */
export const XATTR_SIZE_MAX = 64 * 1024;

/** What the root's attributes come from (the manifest header and the mount). */
export interface PackageXattrs {
  /** The manifest header's user metadata. */
  userMeta?: JsonValue;
  topHash?: string;
}

export function xattrNames(tree: FsTree, ino: number, pkg: PackageXattrs): string[] {
  if (!tree.isDirectory(ino)) return [XATTR_HASH, XATTR_META, XATTR_PHYSICAL_KEY];
  if (ino === ROOT_INO)
    return [
      ...(pkg.userMeta === undefined ? [] : [XATTR_META]),
      ...(pkg.topHash === undefined ? [] : [XATTR_TOP_HASH]),
    ];
  return tree.dirMeta(ino) === undefined ? [] : [XATTR_META];
}

/**
 * A name outside the user namespace (security.*, system.*, trusted.*): the mount has none
 * of those, and says so with EOPNOTSUPP rather than ENODATA. `ls -l` asks every file for
 * security.selinux and system.posix_acl_access, and the kernel caches neither answer, so
 * ENODATA costs two round trips to the daemon per file; after EOPNOTSUPP ls stops asking
 * for the rest of the filesystem (coreutils caches "unsupported" per st_dev), as it does
 * on a filesystem built without xattrs.
 */
export function isUnsupportedNamespace(name: string): boolean {
  return !name.startsWith("user.");
}

/** The attribute's value as text, or undefined when the node has no such attribute. */
export function xattrText(tree: FsTree, ino: number, name: string, pkg: PackageXattrs): string | undefined {
  // Not one of ours: answered without reading the entry, which for an indexed mount is a
  // read of the index.
  if (!name.startsWith("user.quilt.")) return undefined;
  const entry = tree.entry(ino);
  if (entry !== undefined) {
    if (name === XATTR_META) return json(userMeta(entry.meta));
    if (name === XATTR_HASH) return json(entry.hash);
    if (name === XATTR_PHYSICAL_KEY) return entry.physicalKey.toString();
    return undefined;
  }
  if (ino === ROOT_INO) {
    if (name === XATTR_META && pkg.userMeta !== undefined) return json(pkg.userMeta);
    if (name === XATTR_TOP_HASH) return pkg.topHash;
    return undefined;
  }
  const meta = tree.dirMeta(ino);
  // A directory-metadata line's "meta" is the directory's user metadata itself (quilt3's set_meta).
  if (name === XATTR_META && meta !== undefined) return json(meta);
  return undefined;
}

function json(v: JsonValue): string {
  try {
    return manifestJson(v);
  } catch (err) {
    // NaN or Infinity: Python's json.dumps writes them too (allow_nan), so do the same.
    if (err instanceof NonFiniteNumberError) return canonicalJson(v);
    throw err;
  }
}
