// Installs a package version into a directory incrementally: only entries missing or
// different locally are fetched, in parallel, each verified before it is renamed into
// place. Files that already hold the right bytes are kept (trusted by the stat record of
// an earlier install, else hashed). Nothing outside the directory is touched.
import { lstat, mkdir } from "node:fs/promises";
import { QuiltError } from "../errors.js";
import { assertHashType, type HashType } from "../manifest/checksums.js";
import { hashFiles } from "../manifest/hash-pool.js";
import type { Manifest, ManifestEntry } from "../manifest/manifest.js";
import type { Stores } from "../storage/stores.js";
import type { BlockCache } from "../cache/block-cache.js";
import { expectedHash, fetchEntryToFile } from "./fetch-entry.js";
import { readInstallState, statRecord, trustedByStat, writeInstallState, type InstallState, type StatRecord } from "./install-state.js";
import { Limiter, forEachLimited } from "./limit.js";
import { destPath, ensureParentDirs, removeEntry, STATE_DIR } from "./safe-path.js";
import { keySelector, sameHashValue } from "./verify-directory.js";

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

/** Entries (of those given) whose local file does not hold their bytes, and the keys that do. */
async function entriesToFetch(dir: string, state: InstallState | undefined, entries: ManifestEntry[]) {
  const fetch: ManifestEntry[] = [];
  const keep = new Set<string>();
  const candidates = new Map<HashType, { entry: ManifestEntry; path: string }[]>();
  for (const entry of entries) {
    const path = destPath(dir, entry.logicalKey);
    const st = await lstat(path).catch(() => undefined);
    const want = expectedHash(entry);
    if (!st || !st.isFile() || st.size !== entry.size) fetch.push(entry);
    else if (trustedByStat(state?.files[entry.logicalKey], st, want.value)) keep.add(entry.logicalKey);
    else {
      const type = assertHashType(want.type);
      candidates.set(type, [...(candidates.get(type) ?? []), { entry, path }]);
    }
  }
  // Same size but unknown content: hash on both cores, grouped by hash type.
  for (const [type, list] of candidates) {
    const results = await hashFiles(list.map((c) => c.path), type);
    list.forEach((c, i) => {
      if (sameHashValue(type, results[i]?.hash.value, expectedHash(c.entry).value)) keep.add(c.entry.logicalKey);
      else fetch.push(c.entry);
    });
  }
  return { fetch, keep };
}

export async function downloadManifest(stores: Stores, ref: PackageRef, manifest: Manifest, dir: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
  if (manifest.entries.some((e) => e.logicalKey === STATE_DIR || e.logicalKey.startsWith(STATE_DIR + "/"))) {
    throw new QuiltError("EUSAGE", `The package has entries under ${STATE_DIR}/, which is reserved for install state`, {
      hint: "rename those entries in a new package version",
    });
  }
  await mkdir(dir, { recursive: true });
  const selected = keySelector(opts.paths);
  const entries = manifest.entries.filter((e) => selected(e.logicalKey));
  const state = await readInstallState(dir);
  const { fetch, keep } = await entriesToFetch(dir, state, entries);
  const progress: TransferProgress = {
    filesDone: entries.length - fetch.length,
    filesTotal: entries.length,
    bytesDone: 0,
    bytesTotal: fetch.reduce((n, e) => n + e.size, 0),
  };
  opts.onProgress?.({ ...progress });
  const requests = new Limiter(opts.concurrency ?? DEFAULT_TRANSFER_CONCURRENCY);
  const records: Record<string, StatRecord> = {};
  const remember = async (entry: ManifestEntry) => {
    const st = await lstat(destPath(dir, entry.logicalKey));
    records[entry.logicalKey] = statRecord(st, expectedHash(entry).value);
  };
  await forEachLimited(fetch, requests.max, async (entry) => {
    await ensureParentDirs(dir, entry.logicalKey, opts.replaceObstacles === true);
    const dest = destPath(dir, entry.logicalKey);
    const st = await lstat(dest).catch(() => undefined);
    if (st?.isDirectory()) {
      if (!opts.replaceObstacles) {
        throw new QuiltError("EUSAGE", `${dest} is a directory, but the package has a file there`, { hint: "use force-match to replace it" });
      }
      await removeEntry(dest);
    }
    await fetchEntryToFile(stores, entry, dest, {
      requests,
      ...(opts.cache !== undefined && { cache: opts.cache }),
      signal: opts.signal,
      onBytes: (n) => {
        progress.bytesDone += n;
        opts.onProgress?.({ ...progress });
      },
    });
    await remember(entry);
    progress.filesDone++;
    opts.onProgress?.({ ...progress });
  });
  for (const entry of entries) if (keep.has(entry.logicalKey)) await remember(entry);
  // Records of files this run did not look at stay valid: each carries the hash it was written with.
  const files = { ...(state?.files ?? {}), ...records };
  // A partial install remembers its paths (adding to those of the same version), so that
  // status and verify do not call the rest of the package missing.
  const samePkg = state?.topHash === ref.topHash;
  const paths = !opts.paths?.length ? undefined : samePkg && !state?.paths ? undefined : [...new Set([...(samePkg ? (state?.paths ?? []) : []), ...opts.paths])];
  await writeInstallState(dir, {
    format: 1,
    registry: ref.registry,
    name: ref.name,
    ...(ref.tag !== undefined && { tag: ref.tag }),
    topHash: ref.topHash,
    ...(paths !== undefined && { paths }),
    files,
  });
  return { fetched: fetch.map((e) => e.logicalKey), unchanged: [...keep], bytesFetched: progress.bytesDone };
}
