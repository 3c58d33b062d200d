// The data every reader in scripts/bench-peers.ts reads: one large file of random bytes and
// a tree of small files in nested directories (like an image dataset), written to a plain
// local directory (the baseline copy) and pushed by our library as one package to s3rver.
// The same objects are then what rclone and s3fs see under the package's key prefix; they
// need empty "directory marker" objects because s3rver leaves out of a delimiter listing a
// folder that holds only subfolders.
import { spawnSync } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, open, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { S3RVER_AWS_ENV, writeRandomFile } from "./bench-support.js";

export const LARGE = "large.bin";
export const SMALL_DIR = "small";
/** Files per leaf directory, and leaf directories per group: two levels of nesting. */
const PER_DIR = 100;
const DIRS_PER_GROUP = 10;

export interface Dataset {
  local: string;
  /** Relative paths of the small files, in order; also written one a line to `listFile`. */
  smallFiles: string[];
  listFile: string;
}

function smallPath(i: number): string {
  const d = Math.floor(i / PER_DIR);
  const g = Math.floor(d / DIRS_PER_GROUP);
  const pad = (n: number, w: number) => String(n).padStart(w, "0");
  return join(SMALL_DIR, `g${pad(g, 2)}`, `d${pad(d % DIRS_PER_GROUP, 2)}`, `f${pad(i, 6)}.bin`);
}

/** Writes the local copy: `largeBytes` of random data and `files` distinct files of `fileBytes`. */
export async function writeDataset(
  scratch: string,
  largeBytes: number,
  files: number,
  fileBytes: number,
): Promise<Dataset> {
  const local = join(scratch, "local");
  await writeRandomFile(join(local, LARGE), largeBytes);
  const body = randomFillSync(Buffer.allocUnsafe(fileBytes));
  const smallFiles: string[] = [];
  for (let i = 0; i < files; i++) {
    const rel = smallPath(i);
    if (i % PER_DIR === 0) await mkdir(join(local, rel, ".."), { recursive: true });
    // Distinct contents, so no reader (or content-addressed cache) can share one file's bytes with another's.
    body.writeUInt32LE(i, 0);
    randomFillSync(body, 4, 64);
    await writeFile(join(local, rel), body);
    smallFiles.push(rel);
  }
  const listFile = join(scratch, "small-files.txt");
  await writeFile(listFile, smallFiles.join("\n") + "\n");
  return { local, smallFiles, listFile };
}

/**
 * Directory prefixes (ending in "/") of `keys` that hold no object directly, only
 * sub-prefixes: s3rver omits these from delimiter listings, so rclone and s3fs would not see
 * them. The package prefix's own ancestors are included.
 */
export function markerPrefixes(keys: string[]): string[] {
  const all = new Set<string>();
  const withFiles = new Set<string>();
  for (const key of keys) {
    const parts = key.split("/");
    withFiles.add(parts.slice(0, -1).join("/") + "/");
    for (let i = 1; i < parts.length; i++) all.add(parts.slice(0, i).join("/") + "/");
  }
  return [...all].filter((p) => !withFiles.has(p)).sort();
}

/** PUTs an empty object for each marker prefix. */
export async function putMarkers(endpoint: string, bucket: string, prefixes: string[]): Promise<void> {
  const s3 = new S3Client({
    endpoint,
    forcePathStyle: true,
    region: S3RVER_AWS_ENV.AWS_REGION,
    credentials: {
      accessKeyId: S3RVER_AWS_ENV.AWS_ACCESS_KEY_ID,
      secretAccessKey: S3RVER_AWS_ENV.AWS_SECRET_ACCESS_KEY,
    },
  });
  try {
    for (const Key of prefixes)
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: new Uint8Array(0), ContentLength: 0 }));
  } finally {
    s3.destroy();
  }
}

/**
 * Reads s3rver's files for the large file or the small tree once, so the server
 * answers a cold read from memory, as S3 would, rather than from this machine's disk.
 */
export function warmServer(
  serverData: string,
  bucket: string,
  prefix: string,
  which: "large" | "small",
): void {
  const base = join(serverData, bucket, ...prefix.split("/"));
  const target = which === "large" ? base : join(base, SMALL_DIR);
  if (!existsSync(target)) throw new Error(`s3rver data not where expected: ${target}`);
  // Object bodies and their metadata files (which listings and HEADs read).
  const filter = which === "large" ? ["-maxdepth", "1", "-name", `${LARGE}*`] : [];
  const r = spawnSync("sh", [
    "-c",
    'd="$1"; shift; find "$d" "$@" -type f -print0 | xargs -0 -r cat > /dev/null',
    "sh",
    target,
    ...filter,
  ]);
  if (r.status !== 0) throw new Error(`could not read s3rver's object files under ${target}`);
}

/** Whether the first `bytes` of two files are equal: a reader must see the local copy's bytes before it is timed. */
export async function sameStart(a: string, b: string, bytes: number): Promise<boolean> {
  const head = async (path: string) => {
    const fh = await open(path, "r");
    try {
      const buf = Buffer.alloc(bytes);
      const { bytesRead } = await fh.read(buf, 0, bytes, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  };
  return (await head(a)).equals(await head(b));
}
