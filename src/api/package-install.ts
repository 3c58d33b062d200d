// Installing a version into a directory, and checking or forcing a directory to match it:
// what Package.download, verifyDirectoryMatchesManifest and forceDirectoryToMatchManifest
// do with the session's stores and block cache. Separate from package.ts, which keeps the
// methods and what they promise; OS errors become QuiltErrors here (os-errors.ts).
import { log } from "../log.js";
import type { Manifest } from "../manifest/manifest.js";
import { translatingOsErrors } from "../os-errors.js";
import type { Session } from "../session.js";
import { downloadManifest, type DownloadOptions, type DownloadResult, type PackageRef } from "./download.js";
import { forceMatch, type Change } from "./force-match.js";
import { readInstallState } from "./install-state.js";
import { noteInstall } from "./installed-copies.js";
import {
  formatVerifyReport,
  verifyDirectory,
  type DirectoryVerifyResult,
  type VerifyOptions,
} from "./verify-directory.js";

/** What of a Package an install needs (a Package is one). */
export interface InstallableVersion {
  readonly session: Session;
  readonly manifest: Manifest;
  readonly label: string;
  ref(): PackageRef;
}

export async function installVersion(
  pkg: InstallableVersion,
  dir: string,
  opts: DownloadOptions,
): Promise<DownloadResult> {
  const cache = await pkg.session.blockCache();
  const result = await translatingOsErrors(() =>
    downloadManifest(pkg.session.stores, pkg.ref(), pkg.manifest, dir, { cache, ...opts }),
  );
  // Offered by entries' getCachedPath() from now on, while each file stays as written. Only
  // bookkeeping: an install that succeeded does not fail because the list could not be written.
  await noteInstall(pkg.session.cacheDir, dir).catch((err: unknown) =>
    log().warn({ err, dir }, "could not record the install for getCachedPath"),
  );
  return result;
}

/** The directory's differences from the version, with the use case's lines (how to fix them). */
export async function verifyInstalled(
  pkg: InstallableVersion,
  dir: string,
  opts: VerifyOptions,
): Promise<DirectoryVerifyResult & { lines: string[] }> {
  const result = await translatingOsErrors(async () =>
    verifyDirectory(pkg.manifest, dir, await readInstallState(dir), opts),
  );
  return {
    ...result,
    lines: formatVerifyReport(
      result,
      dir,
      pkg.label,
      `pkg.forceDirectoryToMatchManifest(${JSON.stringify(dir)})`,
    ),
  };
}

export async function forceInstalled(
  pkg: InstallableVersion,
  dir: string,
  opts: Pick<DownloadOptions, "onProgress" | "paths"> & { deep?: boolean },
): Promise<Change[]> {
  const cache = await pkg.session.blockCache();
  return (
    await translatingOsErrors(() =>
      forceMatch(pkg.session.stores, pkg.ref(), pkg.manifest, dir, { cache, ...opts }),
    )
  ).changes;
}
