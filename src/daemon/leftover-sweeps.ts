// What a previous daemon left behind that this one may delete once it holds the state
// directory, in the background while the mounts come back: the private cache copies its
// index lists (nothing can read them any more) and the temporary manifest files a killed
// writer left. Separate from daemon.ts: neither is part of serving, and a failure of either
// is only logged.
import type { BlockCache } from "../cache/block-cache.js";
import { log } from "../log.js";
import { removeStaleManifestTemps } from "../storage/stale-manifest-temps.js";

export function sweepLeftovers(cache: BlockCache, manifestCacheDir: string): void {
  // Holding the state directory, this daemon is the index's only user: private copies it
  // lists belong to the daemon before it, and nothing can read them any more.
  cache
    .dropOrphanPrivateCopies()
    .catch((err: unknown) =>
      log().warn({ err }, "could not delete a previous daemon's private cache copies"),
    );
  removeStaleManifestTemps(manifestCacheDir)
    .then((removed) => {
      if (removed > 0) log().info({ removed }, "removed temporary manifest files a killed writer left");
    })
    .catch((err: unknown) => log().warn({ err }, "could not sweep the manifest cache's temporary files"));
}
