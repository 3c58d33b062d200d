// A million objects for scripts/bench-scale-publish.ts, written straight into s3rver's
// directory layout instead of through PUTs (a million PUTs to s3rver take far longer than
// what is measured). s3rver keeps object KEY as the file `KEY._S3rver_object` with its MD5
// in `KEY._S3rver_object.md5` (computed and written at the first listing if absent); the
// metadata file is optional. The objects are empty, so neither tool reads one to hash it;
// every MD5 file of a directory is a hard link to one file, so a million objects cost about
// a million inodes and a thousand data blocks. `modify` gives a share of the objects
// distinct content, the change between the two versions the benchmark diffs (those objects
// are then read and hashed by both tools).
import { createHash } from "node:crypto";
import { linkSync, mkdirSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const OBJECT = "._S3rver_object";
const EMPTY_MD5 = createHash("md5").update("").digest("hex");
/** Entries per directory: nested directories of ~1,000 entries, as the dataset. */
export const PER_DIR = 1000;

export function objectKey(prefix: string, i: number): string {
  return `${prefix}d${String(Math.floor(i / PER_DIR)).padStart(4, "0")}/f${String(i).padStart(7, "0")}.bin`;
}

/** `count` empty objects under `prefix` (ending in "/") of `bucket` in s3rver's `dataDir`. */
export function writeEmptyObjects(dataDir: string, bucket: string, prefix: string, count: number): void {
  let dir = "";
  let md5Source = "";
  for (let i = 0; i < count; i++) {
    const path = join(dataDir, bucket, objectKey(prefix, i));
    const d = path.slice(0, path.lastIndexOf("/"));
    if (d !== dir) {
      dir = d;
      mkdirSync(d, { recursive: true });
      md5Source = join(d, "empty.md5-source");
      writeFileSync(md5Source, EMPTY_MD5);
    }
    writeFileSync(path + OBJECT, "");
    linkSync(md5Source, path + OBJECT + ".md5");
  }
}

/** The keys of every `every`-th object, each given distinct content (its own MD5 file). */
export function modifyObjects(
  dataDir: string,
  bucket: string,
  prefix: string,
  count: number,
  every: number,
): string[] {
  const keys: string[] = [];
  for (let i = every >> 1; i < count; i += every) {
    const key = objectKey(prefix, i);
    const path = join(dataDir, bucket, key) + OBJECT;
    const body = `changed ${i}\n`;
    writeFileSync(path, body);
    unlinkSync(path + ".md5"); // a hard link shared with the directory's other objects
    writeFileSync(path + ".md5", createHash("md5").update(body).digest("hex"));
    keys.push(key);
  }
  return keys;
}
