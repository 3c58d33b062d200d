// Pointer files: how a registry names versions. Each is a small object holding a top hash,
// named by a timestamp (seconds since the epoch, one per push), `latest`, or a tag the user
// chose; v1 keeps them under .quilt/named_packages/, v2 under .quilt/v2/tags/
// (registry-layout.ts). Resolving, listing, pushing and deleting all read or write them here.
import { QuiltError, isQuiltError } from "../errors.js";
import { isValidTag } from "../manifest/package-spec.js";
import type { RegistryUrl } from "../manifest/registry-url.js";
import { isTopHash, type TopHash } from "../types.js";
import { quoted } from "../untrusted-text.js";
import type { ObjectStore } from "./object-store.js";
import { pointerDir, pointerKey, type LayoutVersion } from "./registry-layout.js";

export const LATEST = "latest";

/** Timestamp pointers are all digits (seconds since the epoch); tags never are. */
export const isTimestamp = (p: string): boolean => /^\d{1,12}$/.test(p);

/** What pointers are read and written through: a registry's store and root, and its URL for messages. */
export interface RegistryRoot {
  readonly url: RegistryUrl;
  readonly store: ObjectStore;
  /** The store's bucket: an S3 bucket name or the registry directory. */
  readonly bucket: string;
  objectUrl(key: string): string;
}

/** A version found in a registry: its package, top hash, and the layout whose pointer named it. */
export interface Resolved {
  name: string;
  topHash: TopHash;
  layout: LayoutVersion;
}

/** One pointer file of a package and the version it names. */
export interface Pointer {
  pointer: string;
  layout: LayoutVersion;
  topHash: TopHash;
}

async function getText(root: RegistryRoot, key: string): Promise<string | undefined> {
  try {
    return (await root.store.get({ bucket: root.bucket, key })).toString("utf8");
  } catch (err) {
    if (isQuiltError(err, "ENOTFOUND")) return undefined;
    throw err;
  }
}

/** Reads a pointer (tag) file in either layout. */
export async function readPointer(
  root: RegistryRoot,
  name: string,
  pointer: string,
): Promise<Resolved | undefined> {
  for (const layout of ["v1", "v2"] as const) {
    const text = await getText(root, pointerKey(layout, name, pointer));
    if (text === undefined) continue;
    const hash = text.trim();
    if (!isTopHash(hash)) {
      throw new QuiltError(
        "EBADMANIFEST",
        `Pointer ${root.objectUrl(pointerKey(layout, name, pointer))} does not hold a top hash`,
        {
          hint: "the pointer file is corrupt; re-tag the version with `quilt tag`",
        },
      );
    }
    return { name, topHash: hash, layout };
  }
  return undefined;
}

/** The names of a package's pointer files, in both layouts. */
export async function listPointers(
  root: RegistryRoot,
  name: string,
): Promise<{ pointer: string; layout: LayoutVersion }[]> {
  const out: { pointer: string; layout: LayoutVersion }[] = [];
  for (const layout of ["v1", "v2"] as const) {
    const dir = pointerDir(layout, name);
    for await (const e of root.store.list(root.bucket, dir, { delimiter: "/" })) {
      if (e.kind === "object") out.push({ pointer: e.key.slice(dir.length), layout });
    }
  }
  return out;
}

/** Every pointer of a package with the version it names (a pointer gone since the listing is left out). */
export async function readPointers(root: RegistryRoot, name: string): Promise<Pointer[]> {
  const out: Pointer[] = [];
  for (const { pointer, layout } of await listPointers(root, name)) {
    const r = await readPointer(root, name, pointer);
    if (r) out.push({ pointer, layout, topHash: r.topHash });
  }
  return out;
}

/** Writes one pointer file (atomically: a reader sees the old hash or the new one). */
export async function writePointer(
  root: RegistryRoot,
  name: string,
  pointer: string,
  topHash: TopHash,
  layout: LayoutVersion = "v1",
): Promise<void> {
  // No trailing newline: quilt3 writes and compares the bare hash.
  await root.store.put(
    { bucket: root.bucket, key: pointerKey(layout, name, pointer) },
    Buffer.from(topHash, "ascii"),
  );
}

/** Refuses a name that cannot be a tag: quilt3's tag characters, and not all digits (those are timestamps). */
export function assertTag(tag: string): void {
  if (!isValidTag(tag) || isTimestamp(tag)) {
    throw new QuiltError("EUSAGE", `Invalid tag ${quoted(tag)}`, {
      hint: "a tag is letters, digits, '_', '-' and '.', and not all digits (those are timestamps)",
    });
  }
}
