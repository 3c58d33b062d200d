// Installs a package version into a directory incrementally: only entries missing or
// different locally are fetched, in parallel, each verified before it is renamed into
// place. Files that already hold the right bytes are kept (trusted by the stat record of
// an earlier install, else hashed). Nothing outside the directory is touched.
import { lstat, readdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Stats } from "node:fs";
import { isQuiltError, QuiltError } from "../errors.js";
import { assertHashType, type HashType } from "../manifest/checksums.js";
import { hashFiles } from "../manifest/hash-pool.js";
import type { Manifest, ManifestEntry } from "../manifest/manifest.js";
import type { Stores } from "../storage/stores.js";
import type { BlockCache } from "../cache/block-cache.js";
import { isDeadDownloadTemp, isDownloadTemp } from "./download-temp.js";
import { expectedHash, fetchEntryToFile } from "./fetch-entry.js";
import {
  readInstallState,
  statRecord,
  trustedByStat,
  writeInstallState,
  type InstallState,
  type StatRecord,
} from "./install-state.js";
import { Limiter, forEachLimited } from "../limiter.js";
import { destPath, ensureParentDirs, makeDirectories, removeEntry, STATE_DIR } from "./safe-path.js";
import { keySelector, sameHashValue } from "./verify-directory.js";
import { untrusted } from "../untrusted-text.js";

/** Requests in flight across all files: enough to hide S3 latency, few enough for moto and small links. */
export const DEFAULT_TRANSFER_CONCURRENCY = 16;

export interface TransferProgress {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface DownloadOptions {
  paths?: string[];
  concurrency?: number;
  onProgress?: (p: TransferProgress) => void;
  /** The local data cache: entries it holds whole are copied from it. */
  cache?: BlockCache;
  /** Replace whatever stands where a file or its directory must go (force-match). */
  replaceObstacles?: boolean;
  signal?: AbortSignal;
}

export interface DownloadResult {
  fetched: string[];
  unchanged: string[];
  bytesFetched: number;
}

export interface PackageRef {
  registry: string;
  name: string;
  tag?: string;
  topHash: string;
}

/** lstat calls in flight while scanning the target: enough to keep the disk busy on a cold tree. */
const SCAN_CONCURRENCY = 32;

/**
 * Entries (of those given) whose local file does not hold their bytes, the keys that do, and
 * the keys where something other than a file stands (a directory a fetch must deal with).
 */
async function entriesToFetch(dir: string, state: InstallState | undefined, entries: ManifestEntry[]) {
  const fetch: ManifestEntry[] = [];
  const keep = new Set<string>();
  const obstacles = new Set<string>();
  const candidates = new Map<HashType, { entry: ManifestEntry; path: string }[]>();
  const stats: (Stats | undefined)[] = new Array(entries.length);
  await forEachLimited(entries, SCAN_CONCURRENCY, async (entry, i) => {
    stats[i] = await lstat(destPath(dir, entry.logicalKey)).catch(() => undefined);
  });
  entries.forEach((entry, i) => {
    const path = destPath(dir, entry.logicalKey);
    const st = stats[i];
    const want = expectedHash(entry);
    if (st && !st.isFile()) obstacles.add(entry.logicalKey);
    if (!st || !st.isFile() || st.size !== entry.size) fetch.push(entry);
    else if (trustedByStat(state?.files[entry.logicalKey], st, want.value)) keep.add(entry.logicalKey);
    else {
      const type = assertHashType(want.type);
      const list = candidates.get(type);
      if (list) list.push({ entry, path });
      else candidates.set(type, [{ entry, path }]);
    }
  });
  // Same size but unknown content: hash on both cores, grouped by hash type.
  for (const [type, list] of candidates) {
    const results = await hashFiles(
      list.map((c) => c.path),
      type,
    );
    list.forEach((c, i) => {
      if (sameHashValue(type, results[i]?.hash.value, expectedHash(c.entry).value))
        keep.add(c.entry.logicalKey);
      else fetch.push(c.entry);
    });
  }
  return { fetch, keep, obstacles };
}

export async function downloadManifest(
  stores: Stores,
  ref: PackageRef,
  manifest: Manifest,
  dir: string,
  opts: DownloadOptions = {},
): Promise<DownloadResult> {
  refuseReservedKeys(manifest);
  await makeDirectories(dir);
  const selected = keySelector(opts.paths);
  const entries = manifest.entries.filter((e) => selected(e.logicalKey));
  const state = await readInstallState(dir);
  const { fetch, keep, obstacles } = await entriesToFetch(dir, state, entries);
  const progress: TransferProgress = {
    filesDone: entries.length - fetch.length,
    filesTotal: entries.length,
    bytesDone: 0,
    bytesTotal: fetch.reduce((n, e) => n + e.size, 0),
  };
  opts.onProgress?.({ ...progress });
  const record = installRecord(ref, state, opts.paths);
  // Recorded before the first fetch: an install killed midway leaves a directory that names
  // the version it was becoming, so verify says what is missing and force-match completes it
  // (without a record both refuse the directory). Records of files already there stay: each
  // carries the hash it was written with, so none vouches for bytes of another version.
  if (fetch.length > 0) await writeInstallState(dir, record(state?.files ?? {}));
  const requests = new Limiter(opts.concurrency ?? DEFAULT_TRANSFER_CONCURRENCY);
  const records: Record<string, StatRecord> = {};
  const remember = async (entry: ManifestEntry) => {
    const st = await lstat(destPath(dir, entry.logicalKey));
    records[entry.logicalKey] = statRecord(st, expectedHash(entry).value);
  };
  // Parent directories made or checked by this run: thousands of files share a few, and on
  // small files every filesystem call saved shows.
  const parentsReady = new Set<string>();
  const mismatches: QuiltError[] = [];
  await forEachLimited(fetch, requests.max, async (entry) => {
    const parent = entry.logicalKey.slice(0, Math.max(0, entry.logicalKey.lastIndexOf("/")));
    if (!parentsReady.has(parent)) {
      await ensureParentDirs(dir, entry.logicalKey, opts.replaceObstacles === true);
      await removeStaleTemps(parent === "" ? dir : destPath(dir, parent));
      parentsReady.add(parent);
    }
    const dest = destPath(dir, entry.logicalKey);
    // Only where the scan saw something other than a file: elsewhere the rename below would
    // fail rather than replace a directory that appeared meanwhile.
    if (obstacles.has(entry.logicalKey)) await clearObstacle(dest, opts.replaceObstacles === true);
    try {
      await fetchEntryToFile(stores, entry, dest, {
        requests,
        ...(opts.cache !== undefined && { cache: opts.cache }),
        signal: opts.signal,
        onBytes: (n) => {
          progress.bytesDone += n;
          opts.onProgress?.({ ...progress });
        },
      });
    } catch (err) {
      // An entry whose object does not match it fails alone: the others are still installed,
      // and each such entry is reported once, after them.
      if (!isQuiltError(err, "EHASHMISMATCH")) throw err;
      mismatches.push(err);
      return;
    }
    await remember(entry);
    progress.filesDone++;
    opts.onProgress?.({ ...progress });
  });
  for (const entry of entries) if (keep.has(entry.logicalKey)) await remember(entry);
  // Records of files this run did not look at stay valid: each carries the hash it was written with.
  await writeInstallState(dir, record({ ...(state?.files ?? {}), ...records }));
  if (mismatches.length > 0) throw mismatchesError(mismatches);
  return { fetched: fetch.map((e) => e.logicalKey), unchanged: [...keep], bytesFetched: progress.bytesDone };
}

/** Refuses a package with entries where the install keeps its state. */
function refuseReservedKeys(manifest: Manifest): void {
  if (manifest.entries.some((e) => e.logicalKey === STATE_DIR || e.logicalKey.startsWith(STATE_DIR + "/"))) {
    throw new QuiltError(
      "EBADKEY",
      `The package has entries under ${STATE_DIR}/, which is reserved for install state`,
      {
        hint: "rename those entries in a new package version",
      },
    );
  }
}

/**
 * The install state this run writes, given its files. A partial install remembers its paths
 * (adding to those of the same version), so that status and verify do not call the rest of
 * the package missing.
 */
function installRecord(
  ref: PackageRef,
  state: InstallState | undefined,
  wanted: string[] | undefined,
): (files: Record<string, StatRecord>) => InstallState {
  const samePkg = state?.topHash === ref.topHash;
  const paths = !wanted?.length
    ? undefined
    : samePkg && !state?.paths
      ? undefined
      : [...new Set([...(samePkg ? (state?.paths ?? []) : []), ...wanted])];
  return (files) => ({
    format: 1,
    registry: ref.registry,
    name: ref.name,
    ...(ref.tag !== undefined && { tag: ref.tag }),
    topHash: ref.topHash,
    ...(paths !== undefined && { paths }),
    files,
  });
}

/** A directory where the package has a file: removed when allowed (force-match), else EEXISTS. */
async function clearObstacle(dest: string, replace: boolean): Promise<void> {
  const st = await lstat(dest).catch(() => undefined);
  if (!st?.isDirectory()) return;
  if (!replace) {
    throw new QuiltError("EEXISTS", `${untrusted(dest)} is a directory, but the package has a file there`, {
      hint: "use force-match to replace it",
    });
  }
  await removeEntry(dest);
}

/** One error naming every entry whose object did not match it (the first one's hint). */
function mismatchesError(errors: QuiltError[]): QuiltError {
  if (errors.length === 1) return errors[0] as QuiltError;
  const lines = errors.map((e) => `  ${e.message}`).sort();
  return new QuiltError(
    "EHASHMISMATCH",
    `${errors.length} files of the package do not match their objects (the other files were installed):\n${lines.join("\n")}`,
    {
      ...((errors[0] as QuiltError).hint !== undefined && { hint: (errors[0] as QuiltError).hint }),
    },
  );
}

/** Removes other processes' stale download temps in `dir` (a killed install's), so they do not pile up. */
async function removeStaleTemps(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const now = Date.now();
  for (const name of names) {
    if (!isDownloadTemp(name)) continue;
    const path = join(dir, name);
    const st = await lstat(path).catch(() => undefined);
    if (st?.isFile() && isDeadDownloadTemp(name, st.mtimeMs, now)) await unlink(path).catch(() => undefined);
  }
}
