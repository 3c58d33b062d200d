// What `quilt mounts` says while no daemon runs: after a crash (kill -9) the mount records
// of the dead daemon are still on disk, and the next daemon start mounts each again. Those
// are shown as such rather than "none", read from the records without starting a daemon.
import type { DaemonPaths } from "../daemon/paths.js";
import { readMountRecords } from "../daemon/mount-records.js";
import { shortHash, versionLabel } from "../manifest/version-label.js";
import type { MountInfoReply } from "../daemon/package-mount.js";

export const PENDING_RESTORE = "pending-restore";

/** A mount record as `quilt mounts` shows it: the identity fields of a live mount's info, and its state. */
export type PendingMount = Pick<
  MountInfoReply,
  "mountpoint" | "package" | "name" | "tag" | "registry" | "topHash" | "mountedAt" | "verify" | "previous"
> & {
  /** Not mounted now: the next daemon start (any `quilt mount`, or `quilt daemon start`) mounts it again. */
  state: typeof PENDING_RESTORE;
};

export async function pendingMounts(paths: DaemonPaths): Promise<PendingMount[]> {
  return (await readMountRecords(paths.mounts)).map((r) => ({
    mountpoint: r.mountpoint,
    package: versionLabel(r),
    name: r.name,
    tag: r.tag ?? null,
    registry: r.registry,
    topHash: r.topHash,
    mountedAt: r.mountedAt,
    verify: r.verify ?? "default",
    previous: r.previous ? { ...r.previous, package: versionLabel(r.previous) } : null,
    state: PENDING_RESTORE,
  }));
}

/** The human lines for mounts waiting for a daemon. */
export function pendingLines(list: PendingMount[]): string[] {
  return list.flatMap((m) => [
    `${m.mountpoint}  ${m.package}  ${shortHash(m.topHash)}  ${m.registry}  not mounted: no daemon is running`,
    "  will be restored at next daemon start (`quilt daemon start`, or any `quilt mount`)",
  ]);
}
