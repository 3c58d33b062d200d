// Compares a directory with a manifest, hashing only what it must: a file whose size
// differs is modified without hashing; a file whose stat record (written by our install)
// still matches is trusted unless `deep`; everything else is hashed on both cores.
import { assertHashType, type HashType } from "../manifest/checksums.js";
import { hashFiles } from "../manifest/hash-pool.js";
import type { Manifest, ManifestEntry } from "../manifest/manifest.js";
import { isDownloadTemp } from "./download-temp.js";
import { expectedHash } from "./fetch-entry.js";
import { trustedByStat, type InstallState } from "./install-state.js";
import { scanDirectory, type ScannedFile } from "./scan-directory.js";

export interface VerifyOptions {
  /** Re-hash every file even when its stat record matches. */
  deep?: boolean;
  /** Files that are not in the manifest do not make the directory differ. */
  extraFilesOk?: boolean;
  /** Only these keys (and prefixes ending in "/") are compared; others are ignored. */
  paths?: string[];
  onProgress?: (p: { filesHashed: number; filesToHash: number }) => void;
}

export interface DirectoryVerifyResult {
  ok: boolean;
  /** In the manifest, not on disk. */
  missing: string[];
  /** On disk, not in the manifest. */
  extra: string[];
  /** On disk with other content (or not a regular file). */
  modified: string[];
  /** Files hashed to decide (the rest were decided by size or trusted by stat record). */
  hashed: number;
  /** Temporary files a killed download left (not counted as extra; force-match and install remove them). */
  leftovers: string[];
}

/** Legacy SHA256 values are hex, compared case-blind; base64 values exactly. */
export function sameHashValue(type: string, got: string | undefined, want: string): boolean {
  return got !== undefined && (type === "SHA256" ? got.toLowerCase() === want.toLowerCase() : got === want);
}

export function keySelector(paths: string[] | undefined): (key: string) => boolean {
  if (!paths || paths.length === 0) return () => true;
  return (key) =>
    paths.some((p) => (p.endsWith("/") ? key.startsWith(p) : key === p || key.startsWith(p + "/")));
}

export async function verifyDirectory(
  manifest: Manifest,
  dir: string,
  state: InstallState | undefined,
  opts: VerifyOptions = {},
): Promise<DirectoryVerifyResult> {
  // A partial install is verified on what it installed, unless the caller names paths.
  const selected = keySelector(opts.paths ?? (state?.topHash === manifest.topHash ? state.paths : undefined));
  const onDisk = await scanDirectory(dir);
  const missing: string[] = [];
  const modified: string[] = [];
  const toHash = new Map<HashType, { entry: ManifestEntry; file: ScannedFile }[]>();
  for (const entry of manifest.entries) {
    if (!selected(entry.logicalKey)) continue;
    const file = onDisk.get(entry.logicalKey);
    if (!file) {
      missing.push(entry.logicalKey);
      continue;
    }
    if (!file.stat.isFile() || file.stat.size !== entry.size) {
      modified.push(entry.logicalKey);
      continue;
    }
    if (!opts.deep && trustedByStat(state?.files[entry.logicalKey], file.stat, expectedHash(entry).value))
      continue;
    const type = assertHashType(expectedHash(entry).type);
    const list = toHash.get(type) ?? [];
    list.push({ entry, file });
    toHash.set(type, list);
  }
  let hashed = 0;
  const total = [...toHash.values()].reduce((n, l) => n + l.length, 0);
  for (const [type, list] of toHash) {
    const results = await hashFiles(
      list.map((x) => x.file.path),
      type,
      { onProgress: (p) => opts.onProgress?.({ filesHashed: hashed + p.filesDone, filesToHash: total }) },
    );
    list.forEach(({ entry }, i) => {
      if (!sameHashValue(type, results[i]?.hash.value, expectedHash(entry).value))
        modified.push(entry.logicalKey);
    });
    hashed += list.length;
  }
  const unlisted = [...onDisk.keys()].filter((k) => selected(k) && !manifest.has(k));
  const leftovers = unlisted.filter((k) => isDownloadTemp(k.slice(k.lastIndexOf("/") + 1)));
  const extra = unlisted.filter((k) => !isDownloadTemp(k.slice(k.lastIndexOf("/") + 1)));
  const sort = (xs: string[]) => xs.sort();
  return {
    ok: missing.length === 0 && modified.length === 0 && (opts.extraFilesOk === true || extra.length === 0),
    missing: sort(missing),
    extra: sort(extra),
    modified: sort(modified),
    hashed,
    leftovers: sort(leftovers),
  };
}

/** The use case's report: one line per difference, then how to fix it. */
export function formatVerifyReport(
  r: DirectoryVerifyResult,
  dir: string,
  label: string,
  fix: string,
): string[] {
  if (r.ok) return [];
  const path = (key: string) => `${dir.replace(/\/+$/, "")}/${key}`;
  const lines = [
    ...r.missing.map((k) => `${path(k)} does not exist locally, but is in the manifest ${label}`),
    ...r.extra.map((k) => `${path(k)} exists locally, but does not exist in the manifest ${label}`),
    ...r.modified.map((k) => `${path(k)} exists locally, but contents do not match manifest ${label}`),
  ];
  lines.push(`This can be fixed by calling ${fix}`);
  return lines;
}
