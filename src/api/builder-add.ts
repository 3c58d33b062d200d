// What PackageBuilder.add() and set() take, as entries: a local file or directory, an s3://
// object or prefix, or (add only) another package, whose entries keep their hashes.
import { QuiltError } from "../errors.js";
import { fromPlain } from "../manifest/json-value.js";
import { parseLogicalKey, parseLogicalPrefix } from "../manifest/logical-key.js";
import type { ManifestEntry } from "../manifest/manifest.js";
import { translatingOsErrors } from "../os-errors.js";
import type { Stores } from "../storage/stores.js";
import {
  entriesFromLocal,
  entriesFromManifest,
  entriesFromS3,
  type BuilderEntry,
} from "./builder-sources.js";

/** The entries add() puts in for another package (its manifest's entries): all of them, under `logicalPrefix` (default the root). */
export function entriesOfPackage(
  entries: readonly ManifestEntry[],
  logicalPrefix: string | undefined,
): BuilderEntry[] {
  return entriesFromManifest(entries, logicalPrefix === undefined ? "" : parseLogicalPrefix(logicalPrefix));
}

/** The entries add() puts in for a path or URL: `logicalPrefix` defaults to the directory's (or prefix's) own name; "" is the root. */
export async function entriesToAdd(
  stores: Stores,
  source: string,
  logicalPrefix: string | undefined,
): Promise<BuilderEntry[]> {
  return source.startsWith("s3://")
    ? await entriesFromS3(stores, source, logicalPrefix)
    : await translatingOsErrors(() => entriesFromLocal(source, logicalPrefix));
}

/** The one entry set() puts at `key`, from a single local file or s3:// object, with optional user metadata. */
export async function entryToSet(
  stores: Stores,
  key: string,
  source: string,
  meta: unknown,
): Promise<BuilderEntry> {
  const k = parseLogicalKey(key);
  const [entry] = source.startsWith("s3://")
    ? await entriesFromS3(stores, source, k)
    : await entriesFromLocal(source, k);
  if (!entry || entry.logicalKey !== k)
    throw new QuiltError("EUSAGE", `set() takes a single file: ${source}`);
  if (meta !== undefined) entry.meta = new Map([["user_meta", fromPlain(meta)]]);
  return entry;
}
