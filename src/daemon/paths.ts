// Where the daemon keeps its state, under QUILT_STATE_DIR (per user, local disk): the
// socket and pid file in a 0700 directory, the log, the list of mounts to restore after a
// crash, the daemon's LMDB cache index and the index of mounted manifests (both LMDB, which
// must be on local disk). The data blocks live
// in the cache directory, which may be shared.
import { join } from "node:path";
import { cacheDataDir, stateDir } from "../config.js";
import type { SessionOptions } from "../session.js";

export interface DaemonPaths {
  dir: string;
  socket: string;
  pid: string;
  log: string;
  mounts: string;
  index: string;
  /** The manifests of mounted versions, indexed (storage/manifest-index.ts). */
  manifests: string;
  data: string;
}

/** The daemon's session: its block cache indexed in its state directory, over its data directory. */
export function daemonSessionOptions(paths: DaemonPaths, env: NodeJS.ProcessEnv): SessionOptions {
  return { env, dataDir: paths.data, indexDir: paths.index };
}

export function daemonPaths(env: NodeJS.ProcessEnv = process.env, dataDir?: string): DaemonPaths {
  const state = stateDir(env);
  const dir = join(state, "daemon");
  return {
    dir,
    socket: join(dir, "quilt.sock"),
    pid: join(dir, "daemon.pid"),
    log: join(state, "logs", "daemon.log"),
    mounts: join(state, "mounts.json"),
    index: join(state, "index"),
    manifests: join(state, "manifest-index"),
    data: dataDir ?? cacheDataDir(env),
  };
}
