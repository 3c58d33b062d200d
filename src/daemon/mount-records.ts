// The list of mounts the daemon should hold, on disk, so that after a crash (kill -9) the
// next daemon clears the stale mounts and mounts them again. Written atomically.
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { errnoCode } from "../errors.js";
import { log } from "../log.js";
import type { S3Context } from "./s3-context.js";

export interface MountRecord {
  mountpoint: string;
  /** Resolved by the CLI: s3://bucket or file:///dir. */
  registry: string;
  /**
   * Endpoint, region and profile the CLI resolved for this mount. Absent only in records of
   * daemons before it existed, which used their own environment.
   */
  s3?: S3Context;
  name: string;
  tag?: string;
  topHash: string;
  allowOther?: boolean;
  nonEmpty?: boolean;
  /** "strict": serve no unverified byte (see BlockCache's strict reads); absent: the default. */
  verify?: "strict";
  mountedAt: string;
  /**
   * The served version's time (its manifest's last modification, ISO 8601): every file's
   * mtime in the mount. Kept so a restart shows the same times and asks S3 nothing for a
   * version already indexed; absent until known (records of older daemons, or the registry
   * did not answer), then asked of the registry at the next load.
   */
  versionTime?: string;
  /** Its manifest's size in bytes, shown by `quilt mount` and `quilt mounts --json`. */
  manifestBytes?: number;
  /** The version served before the last `quilt switch`: where `quilt switch --previous` goes. */
  previous?: MountVersion;
}

/** One version a mount serves or served. */
export interface MountVersion {
  name: string;
  /** The tag it was switched to by, absent when by hash. */
  tag?: string;
  topHash: string;
}

export async function readMountRecords(path: string): Promise<MountRecord[]> {
  try {
    const parsed = JSON.parse(await readFile(path, "utf8")) as { mounts?: MountRecord[] };
    return Array.isArray(parsed.mounts) ? parsed.mounts : [];
  } catch (err) {
    if (errnoCode(err) !== "ENOENT") log().warn({ err, path }, "unreadable mount list; starting with none");
    return [];
  }
}

export async function writeMountRecords(path: string, mounts: MountRecord[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  await writeFile(tmp, JSON.stringify({ mounts }, null, 2));
  await rename(tmp, path);
}
